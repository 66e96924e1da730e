"""The ``mlapi`` command: ``serve``, ``train``, ``predict``, ``models`` and ``jobs``.

Every command but ``serve`` works on the local registry in-process, or on a running
server with ``--url``.
"""

import csv
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from mlapi.api.schemas import MAX_INTEGER
from mlapi.cli.backends import Backend, CommandError, HttpBackend, LocalBackend, run
from mlapi.ml import Algorithm
from mlapi.serving.training import train_on_dataset
from mlapi.settings import CONFIG_FILE_VARIABLE, LogLevel, Settings

cli = typer.Typer(
    help="Train, version and serve a machine-learning model as a REST service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_cli = typer.Typer(
    help="List, show, activate and delete model versions.", no_args_is_help=True
)
jobs_cli = typer.Typer(help="List and show training jobs.", no_args_is_help=True)
cli.add_typer(models_cli, name="models")
cli.add_typer(jobs_cli, name="jobs")
console = Console()

UrlOption = Annotated[
    str | None, typer.Option(help="Act on a running server, e.g. https://host:8888.")
]
CacertOption = Annotated[
    Path | None, typer.Option(exists=True, help="CA bundle to verify the server with.")
]
LimitOption = Annotated[int, typer.Option(min=1, max=500, help="Most items listed.")]
OffsetOption = Annotated[int, typer.Option(min=0, max=MAX_INTEGER, help="Items skipped first.")]
VersionArgument = Annotated[int, typer.Argument(min=1, max=MAX_INTEGER, help="Version number.")]


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


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except (ValidationError, FileNotFoundError) as error:
        typer.echo(f"error: invalid configuration: {error}", err=True)
        raise typer.Exit(2) from None


def _backend(url: str | None, cacert: Path | None, **options: Any) -> Backend:
    if url is not None:
        return HttpBackend(url, cacert)
    return LocalBackend(_settings(), **options)


def _fail(error: CommandError) -> NoReturn:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(1)


def _do(action: Any) -> Any:
    try:
        return run(action)
    except CommandError as error:
        _fail(error)


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def _print_metrics(model: dict[str, Any]) -> None:
    metrics = model["metrics"]
    typer.echo(
        f"model version {model['version']} ({model['algorithm']})"
        f"{' is now active' if model['active'] else ''}"
    )
    typer.echo(f"held-out accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}")
    for name, per_class in metrics["per_class"].items():
        typer.echo(
            f"  {name:<20} precision {per_class['precision']:.3f}"
            f"  recall {per_class['recall']:.3f}  f1 {per_class['f1']:.3f}"
            f"  support {per_class['support']}"
        )


@cli.command()
def train(
    algorithm: Annotated[
        Algorithm | None, typer.Option(help="Algorithm; MLAPI_DEFAULT_ALGORITHM if not given.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="A hyperparameter as key=value; repeatable.")
    ] = None,
    test_size: Annotated[
        float | None, typer.Option(min=0.01, max=0.99, help="Held-out share of rows.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, max=MAX_INTEGER, help="Seed of the held-out split.")
    ] = None,
    activate: Annotated[bool, typer.Option(help="Activate the new version on success.")] = True,
    wait: Annotated[
        bool, typer.Option(help="Wait for the job, with a progress bar, and print its metrics.")
    ] = False,
    url: UrlOption = None,
    cacert: CacertOption = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Only write the trained model to this file (no registry, no job)."),
    ] = None,
) -> None:
    """Queue a training job (or run it and wait, with --wait) and register a new version.

    Args:
        algorithm: Algorithm from the catalogue.
        param: Hyperparameters as ``key=value``.
        test_size: Held-out share of rows.
        seed: Seed of the held-out split.
        activate: Activate the new version on success.
        wait: Wait for the job, showing progress, then print the metrics.
        url: A running server to train on; the local registry if None.
        cacert: CA bundle for the server.
        output: Write the model file here instead of registering it.
    """
    hyperparameters = dict(_parse_param(text) for text in param or [])
    if output is not None:
        settings = _settings()
        classifier = _do(
            lambda: train_on_dataset(
                settings,
                algorithm=algorithm,
                hyperparameters=hyperparameters,
                test_size=test_size,
                random_state=seed,
            )
        )
        classifier.save(output)
        typer.echo(
            f"model saved to {output}; held-out accuracy {classifier.evaluation.accuracy:.4f}"
        )
        return
    body = {
        "algorithm": algorithm.value if algorithm else None,
        "hyperparameters": hyperparameters,
        "test_size": test_size,
        "random_state": seed,
        "activate": activate,
    }
    with _ProgressBar(wait) as report:
        backend = _backend(url, cacert, progress=report)
        if isinstance(backend, LocalBackend):
            job = _do(lambda: backend.train(body, wait=wait))
        else:
            job = _do(lambda: backend.train(body))
            while wait and job["state"] in {"queued", "running"}:
                report(job["progress"])
                time.sleep(0.2)
                job = _do(lambda job_id=job["id"]: backend.job(job_id))
            report(job["progress"])
    if not wait:
        typer.echo(f"queued training job {job['id']}; follow it with: mlapi jobs show {job['id']}")
        return
    if job["state"] != "succeeded":
        typer.echo(f"error: training job {job['id']} {job['state']}: {job['error']}", err=True)
        raise typer.Exit(1)
    _print_metrics(_do(lambda: backend.model(job["model_version"])))


class _ProgressBar:
    """A rich progress bar for a waited-for training, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self._bar = (
            Progress(
                TextColumn("training"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            if enabled
            else None
        )
        self._task: Any = None

    def _report(self, share: float) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=share * 100)

    def __enter__(self) -> Callable[[float], None]:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("training", total=100)
        return self._report

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


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
    model_version: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_INTEGER, help="Ask this version; the active one if not given."),
    ] = None,
    url: UrlOption = None,
    cacert: CacertOption = None,
) -> None:
    """Predict rows and print the answer as JSON.

    Args:
        rows: Rows as comma-separated numbers.
        csv_file: CSV file of rows; a header line is skipped.
        model_version: A model version; the active one if None.
        url: Base address of a running mlapi server; in-process if None.
        cacert: CA bundle for HTTPS servers with a private CA.
    """
    data = _read_rows(rows or [], csv_file)
    backend = _backend(url, cacert)
    typer.echo(json.dumps(_do(lambda: backend.predict(data, model_version))))


@models_cli.command("list")
def list_models(
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    url: UrlOption = None,
    cacert: CacertOption = None,
) -> None:
    """List model versions, newest first.

    Args:
        limit: Most listed.
        offset: Skipped first.
        url: A running server; the local registry if None.
        cacert: CA bundle for the server.
    """
    backend = _backend(url, cacert)
    page = _do(lambda: backend.models(limit, offset))
    table = Table("version", "active", "algorithm", "accuracy", "macro F1", "created", "by")
    for item in page["items"]:
        table.add_row(
            str(item["version"]),
            "*" if item["active"] else "",
            item["algorithm"],
            f"{item['metrics']['accuracy']:.4f}",
            f"{item['metrics']['macro_f1']:.4f}",
            item["created_at"][:19],
            item["created_by"],
        )
    console.print(table)
    console.print(f"{len(page['items'])} of {page['total']} versions")


@models_cli.command("show")
def show_model(
    version: VersionArgument, url: UrlOption = None, cacert: CacertOption = None
) -> None:
    """Show one model version as JSON.

    Args:
        version: Its number.
        url: A running server; the local registry if None.
        cacert: CA bundle for the server.
    """
    backend = _backend(url, cacert)
    _print_json(_do(lambda: backend.model(version)))


@models_cli.command("activate")
def activate_model(
    version: VersionArgument, url: UrlOption = None, cacert: CacertOption = None
) -> None:
    """Make a version the active one (roll back or forward).

    Args:
        version: Its number.
        url: A running server; the local registry if None.
        cacert: CA bundle for the server.
    """
    backend = _backend(url, cacert)
    model = _do(lambda: backend.activate(version))
    typer.echo(f"model version {model['version']} is now active")


@models_cli.command("delete")
def delete_model(
    version: VersionArgument, url: UrlOption = None, cacert: CacertOption = None
) -> None:
    """Delete a version and its file (not the active one).

    Args:
        version: Its number.
        url: A running server; the local registry if None.
        cacert: CA bundle for the server.
    """
    backend = _backend(url, cacert)
    _do(lambda: backend.delete(version))
    typer.echo(f"model version {version} deleted")


@jobs_cli.command("list")
def list_jobs(
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    url: UrlOption = None,
    cacert: CacertOption = None,
) -> None:
    """List training jobs, newest first.

    Args:
        limit: Most listed.
        offset: Skipped first.
        url: A running server; the local registry if None.
        cacert: CA bundle for the server.
    """
    backend = _backend(url, cacert)
    page = _do(lambda: backend.jobs(limit, offset))
    # The id and state in full, whatever the terminal's width: the id is what
    # `jobs show` takes.
    job_id = Column("id", no_wrap=True, min_width=36)
    state = Column("state", no_wrap=True, min_width=9)
    table = Table(job_id, state, "progress", "algorithm", "version", "created", "error")
    for item in page["items"]:
        table.add_row(
            item["id"],
            item["state"],
            f"{item['progress']:.0%}",
            item["algorithm"],
            str(item["model_version"] or ""),
            item["created_at"][:19],
            item["error"] or "",
        )
    console.print(table)
    console.print(f"{len(page['items'])} of {page['total']} jobs")


@jobs_cli.command("show")
def show_job(job_id: str, url: UrlOption = None, cacert: CacertOption = None) -> None:
    """Show one training job as JSON.

    Args:
        job_id: Its id.
        url: A running server; the local registry if None.
        cacert: CA bundle for the server.
    """
    backend = _backend(url, cacert)
    _print_json(_do(lambda: backend.job(job_id)))


def main() -> None:
    """Run the ``mlapi`` command."""
    cli(prog_name="mlapi")
