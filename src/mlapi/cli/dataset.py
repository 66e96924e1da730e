"""``mlapi dataset pack | validate | show``: make and check data packages before training.

``pack`` turns a CSV file into a ``.zip`` or ``.tar.gz`` data package, inferring the
column types; ``validate`` and ``show`` read a package (a local file or folder, a URL,
or a data set's name) exactly as a training job would, within the same limits.
"""

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numpy as np
import typer
from rich.console import Console
from rich.progress import DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from mlapi.cli.context import Format, load_settings, options
from mlapi.ml import MlapiError, tabular
from mlapi.ml.datasets import Dataset, load_package
from mlapi.ml.errors import DatasetError
from mlapi.ml.packing import pack as pack_csv
from mlapi.serving.records import DatasetSource
from mlapi.serving.service import Service, Training

app = typer.Typer(help="Make and check data packages.", no_args_is_help=True)

Source = Annotated[
    str, typer.Argument(help="A package file or folder, a URL, or a fetched data set's name.")
]


@app.command()
def pack(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(exists=True, help="A CSV file, or a folder of one.")],
    target: Annotated[str, typer.Option(help="The column to predict.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The package to write: NAME.zip or NAME.tar.gz.")
    ],
    delimiter: Annotated[str, typer.Option(help="The character between values.")] = ",",
) -> None:
    """Pack a CSV file as a data package, inferring each column's type from its values."""
    try:
        dataset = pack_csv(source, target, output, delimiter=delimiter)
    except (MlapiError, OSError) as error:
        _fail(error)
    _print(ctx, dataset, DatasetSource(name=dataset["name"]))
    typer.echo(f"wrote {output}; train on it with: mlapi train --dataset {output} --wait")


@app.command()
def validate(ctx: typer.Context, source: Source) -> None:
    """Read a data package as training would, and say what is wrong with it, if anything."""
    dataset, _ = _read(source)
    rows = len(dataset["y"])
    typer.echo(f"{source}: valid; {rows} rows, {len(dataset['feature_names'])} features")


@app.command()
def show(ctx: typer.Context, source: Source) -> None:
    """Describe a data package: its columns and their types, classes and missing values."""
    dataset, origin = _read(source)
    _print(ctx, dataset, origin)


def _read(source: str) -> tuple[Dataset, DatasetSource]:
    path = Path(source)
    settings = load_settings()
    try:
        if path.exists():
            limits = settings.extraction_limits()
            dataset = load_package(path, limits=limits, max_rows=settings.dataset_max_rows)
            return dataset, DatasetSource(name=dataset["name"])
        service = Service(settings, training=Training.ELSEWHERE)
        with _DownloadBar() as progress:
            return asyncio.run(service.fetch_dataset(source, progress))
    except (MlapiError, OSError) as error:
        _fail(error)


def _fail(error: Exception) -> NoReturn:
    """Print what is wrong, a bad value a line, and stop with exit status 1."""
    if isinstance(error, DatasetError) and error.problems:
        typer.echo(f"error: {error.message}:", err=True)
        for problem in error.problems:
            typer.echo(f"  {problem}", err=True)
    else:
        typer.echo(f"error: {error}", err=True)
    raise typer.Exit(1)


def summary(dataset: Dataset, origin: DatasetSource) -> dict[str, Any]:
    """Describe a data set in plain data: what ``show --format json`` prints.

    Returns:
        Its name and origin, row count, each feature's type and missing values, and
        each class's row count.
    """
    missing = tabular.missing(dataset["X"]).sum(axis=0).tolist()
    counts = np.bincount(dataset["y"], minlength=len(dataset["class_names"])).tolist()
    return {
        "name": dataset["name"],
        "url": origin.url,
        "sha256": origin.sha256,
        "rows": len(dataset["y"]),
        "features": [
            {"name": name, "type": kind, "missing": count}
            for name, kind, count in zip(
                dataset["feature_names"], dataset["feature_types"], missing, strict=True
            )
        ],
        "classes": dict(zip(dataset["class_names"], counts, strict=True)),
    }


def _print(ctx: typer.Context, dataset: Dataset, origin: DatasetSource) -> None:
    described = summary(dataset, origin)
    if options(ctx).format is Format.JSON:
        typer.echo(json.dumps(described, indent=2))
        return
    typer.echo(f"data set {described['name']}: {described['rows']} rows")
    if origin.url:
        typer.echo(f"from {origin.url} (sha256 {origin.sha256})")
    table = Table("feature", "type", "missing")
    for feature in described["features"]:
        table.add_row(feature["name"], feature["type"], str(feature["missing"]))
    Console().print(table)
    classes = ", ".join(f"{name} ({count})" for name, count in described["classes"].items())
    typer.echo(f"classes: {classes}")


class _DownloadBar:
    """A rich progress bar on standard error, for a package being downloaded."""

    def __init__(self) -> None:
        self._bar = Progress(
            *Progress.get_default_columns()[:2],
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._bar.add_task("downloading", total=None)

    def _report(self, done: int, total: int | None) -> None:
        self._bar.update(self._task, completed=done, total=total)

    def __enter__(self) -> Any:
        self._bar.start()
        return self._report

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()
