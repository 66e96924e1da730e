"""The ``mlapi`` command: ``serve``, ``train`` and ``predict``."""

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from mlapi.ml import Algorithm, MlapiError
from mlapi.serving.active_model import ActiveModel, train_on_dataset
from mlapi.settings import CONFIG_FILE_VARIABLE, LogLevel, Settings

T = TypeVar("T")

cli = typer.Typer(
    help="Train, version and serve a machine-learning model as a REST service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@cli.callback()
def configure(
    config: Annotated[
        Path | None,
        typer.Option(help="TOML configuration file (else $MLAPI_CONFIG_FILE or ./mlapi.toml)."),
    ] = None,
) -> None:
    """Train, version and serve a machine-learning model as a REST service.

    Args:
        config: Configuration file to read settings from.
    """
    if config is not None:
        # Through the environment, so that server worker processes read it too.
        os.environ[CONFIG_FILE_VARIABLE] = str(config)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address [MLAPI_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port [MLAPI_PORT].")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes [MLAPI_WORKERS].")] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="TLS private key, PEM [MLAPI_SSL_KEYFILE].")
    ] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate chain, PEM [MLAPI_SSL_CERTFILE].")
    ] = None,
    log_level: Annotated[
        LogLevel | None, typer.Option(help="Least severe level logged [MLAPI_LOG_LEVEL].")
    ] = None,
) -> None:
    """Serve the REST API (HTTPS when given a key and certificate).

    Args:
        host: Listen address.
        port: Listen port.
        workers: Number of worker processes.
        ssl_keyfile: TLS private key.
        ssl_certfile: TLS certificate chain.
        log_level: Least severe level logged.
    """
    import uvicorn

    overrides = {
        "host": host,
        "port": port,
        "workers": workers,
        "ssl_keyfile": ssl_keyfile,
        "ssl_certfile": ssl_certfile,
        "log_level": log_level,
    }
    settings = _settings(**{name: value for name, value in overrides.items() if value is not None})
    uvicorn.run(
        "mlapi.main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        ssl_keyfile=settings.ssl_keyfile,
        ssl_certfile=settings.ssl_certfile,
        log_level=settings.log_level.value,
        server_header=False,
    )


def _parse_param(text: str) -> tuple[str, Any]:
    name, separator, raw = text.partition("=")
    if not separator or not name:
        raise typer.BadParameter(f"{text!r} is not key=value", param_hint="--param")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


@cli.command()
def train(
    algorithm: Annotated[
        Algorithm | None, typer.Option(help="Algorithm; MLAPI_DEFAULT_ALGORITHM if not given.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="A hyperparameter as key=value; repeatable."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Write the model here instead of making it the active model."),
    ] = None,
) -> None:
    """Train a model on the data set, print its held-out metrics and save it.

    Args:
        algorithm: Algorithm from the catalogue.
        param: Hyperparameters as ``key=value``.
        output: Destination file; the active model file of ``MLAPI_MODEL_DIR`` if None.
    """
    settings = _settings()
    hyperparameters = dict(_parse_param(text) for text in param or [])
    classifier = _run(
        lambda: train_on_dataset(settings, algorithm=algorithm, hyperparameters=hyperparameters)
    )
    destination = output or settings.active_model_path
    classifier.save(destination)
    metadata = classifier.metadata
    assert metadata is not None  # noqa: S101 - a trained classifier has metadata
    evaluation = metadata.evaluation
    typer.echo(f"model {classifier.version} ({metadata.algorithm}) saved to {destination}")
    typer.echo(f"held-out accuracy {evaluation.accuracy:.4f}, macro F1 {evaluation.macro_f1:.4f}")
    for name, metrics in evaluation.per_class.items():
        typer.echo(
            f"  {name:<20} precision {metrics.precision:.3f}  recall {metrics.recall:.3f}"
            f"  f1 {metrics.f1:.3f}  support {metrics.support}"
        )


def _read_rows(rows: list[str], csv_file: Path | None) -> list[list[float]]:
    texts = [row.split(",") for row in rows]
    if csv_file is not None:
        with csv_file.open(newline="") as handle:
            texts.extend(record for record in csv.reader(handle) if record)
    parsed: list[list[float]] = []
    for number, cells in enumerate(texts):
        try:
            parsed.append([float(cell) for cell in cells])
        except ValueError:
            if number == len(rows) and csv_file is not None:
                continue  # a CSV header line
            raise typer.BadParameter(f"row {number + 1} is not numbers: {cells}") from None
    if not parsed:
        raise typer.BadParameter("give rows as arguments (5.1,3.5,1.4,0.2) or --csv FILE")
    return parsed


@cli.command()
def predict(
    rows: Annotated[
        list[str] | None, typer.Argument(help="Rows as comma-separated numbers.")
    ] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", exists=True, help="CSV file of rows.")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Ask a running server instead, e.g. https://host:8888.")
    ] = None,
    cacert: Annotated[
        Path | None, typer.Option(exists=True, help="CA bundle to verify the server with.")
    ] = None,
) -> None:
    """Predict rows and print the answer as JSON.

    Args:
        rows: Rows as comma-separated numbers.
        csv_file: CSV file of rows; a header line is skipped.
        url: Base address of a running mlapi server; in-process if None.
        cacert: CA bundle for HTTPS servers with a private CA.
    """
    data = _read_rows(rows or [], csv_file)
    if url is not None:
        import httpx

        verify: Any = str(cacert) if cacert else True
        try:
            response = httpx.post(
                f"{url.rstrip('/')}/v1/predict", json={"data": data}, verify=verify, timeout=30
            )
        except httpx.HTTPError as error:
            raise typer.BadParameter(f"cannot reach {url}: {error}", param_hint="--url") from None
        typer.echo(json.dumps(response.json()))
        if response.is_error:
            raise typer.Exit(1)
        return
    active_model = ActiveModel(_settings())
    classifier = _run(active_model.load)
    answer = _run(lambda: classifier.predict(data))
    typer.echo(
        json.dumps(
            {
                **answer,
                "labels": classifier.labels(answer["prediction"]),
                "model_version": classifier.version,
            }
        )
    )


def _settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except (ValidationError, FileNotFoundError) as error:
        typer.echo(f"error: invalid configuration: {error}", err=True)
        raise typer.Exit(2) from None


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except MlapiError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


def main() -> None:
    """Run the ``mlapi`` command."""
    cli(prog_name="mlapi")


if __name__ == "__main__":  # pragma: no cover
    main()
