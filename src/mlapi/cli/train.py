"""``mlapi train``: queue a training job, or run it and wait, or only write a model file."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from mlapi.cli import output
from mlapi.cli.client import Backend
from mlapi.cli.context import call, load_settings, options
from mlapi.ml import Algorithm, MlapiError
from mlapi.serving.records import (
    MAX_INTEGER,
    DatasetSource,
    ModelVersion,
    TrainingJob,
    TrainingOrder,
)
from mlapi.serving.service import Service, Training


def _parse_param(text: str) -> tuple[str, Any]:
    name, separator, raw = text.partition("=")
    if not separator or not name:
        raise typer.BadParameter(f"{text!r} is not key=value", param_hint="--param")
    try:
        return name, json.loads(raw)
    except json.JSONDecodeError:
        return name, raw


def train(
    ctx: typer.Context,
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
    dataset: Annotated[
        str | None,
        typer.Option(
            help="A data package's URL, a local package file (trained here, at once), or "
            "a data set's name; MLAPI_DEFAULT_DATASET if not given."
        ),
    ] = None,
    sha256: Annotated[
        str | None, typer.Option(help="Expected SHA-256 of the --dataset URL's package file.")
    ] = None,
    wait: Annotated[
        bool, typer.Option(help="Wait for the job, with a progress bar, and print its metrics.")
    ] = False,
    output_file: Annotated[
        Path | None,
        typer.Option(
            "--output", help="Only write the trained model to this file (no registry, no job)."
        ),
    ] = None,
) -> None:
    """Queue a training job (or run it and wait, with --wait) and register a new version.

    Hyperparameter values are read as JSON where they parse (``max_depth=3``), else as
    text (``criterion=gini``).
    """
    source, overrides = _dataset(ctx, dataset, sha256)
    if overrides:  # the user's own file: read here, by this process, so it trains here too
        wait = True
    order = TrainingOrder(
        algorithm=algorithm.value if algorithm else None,
        hyperparameters=dict(_parse_param(text) for text in param or []),
        test_size=test_size,
        random_state=seed,
        activate=activate,
        dataset=source,
    )
    if output_file is not None:
        _train_to_file(ctx, order, output_file, overrides)
        return

    async def queue(backend: Backend) -> TrainingJob | ModelVersion:
        job = await backend.train(order, created_by="cli")
        if not wait:
            return job
        with _ProgressBar() as progress:
            finished = await backend.wait(job.id, progress)
        assert finished.model_version is not None  # noqa: S101 - a succeeded job has one
        return await backend.version(finished.model_version)

    result = call(ctx, queue, run_jobs=wait, overrides=overrides)
    if isinstance(result, ModelVersion):
        output.report(ctx, result, lambda: output.metrics(result))
    else:
        output.report(
            ctx,
            result,
            lambda: typer.echo(
                f"queued training job {result.id}; follow it with: mlapi jobs show {result.id}"
            ),
        )


def _dataset(
    ctx: typer.Context, dataset: str | None, sha256: str | None
) -> tuple[DatasetSource | str | None, dict[str, Any]]:
    """Say what --dataset names, and the settings that reading it here needs."""
    if dataset is None or "://" in dataset:
        return (None if dataset is None else DatasetSource(url=dataset, sha256=sha256)), {}
    path = Path(dataset)
    if not path.exists():
        return dataset, {}  # a data set's name
    if options(ctx).url is not None:
        raise typer.BadParameter(
            "a server cannot read a file on this machine: give a URL it can reach",
            param_hint="--dataset",
        )
    if not path.is_file():
        raise typer.BadParameter(
            "give a package file: pack a folder first (mlapi dataset pack)",
            param_hint="--dataset",
        )
    file = DatasetSource(url=path.resolve().as_uri(), sha256=sha256)
    return file, {"dataset_allow_file": True}


def _train_to_file(
    ctx: typer.Context, order: TrainingOrder, path: Path, overrides: dict[str, Any]
) -> None:
    if options(ctx).url is not None:
        raise typer.BadParameter("trains in this process: leave out --url", param_hint="--output")
    try:
        service = Service(load_settings(**overrides), training=Training.ELSEWHERE)
        classifier = service.fit(order, "cli")
        classifier.save(path)
    except (MlapiError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"model saved to {path}; held-out accuracy {classifier.evaluation.accuracy:.4f}")


class _ProgressBar:
    """A rich progress bar on standard error, for a training waited for."""

    def __init__(self) -> None:
        self._bar = Progress(
            TextColumn("training"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._task: Any = None

    def _report(self, share: float) -> None:
        self._bar.update(self._task, completed=share * 100)

    def __enter__(self) -> Callable[[float], None]:
        self._bar.start()
        self._task = self._bar.add_task("training", total=100)
        return self._report

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()
