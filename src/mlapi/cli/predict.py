"""``mlapi predict``: classify rows given on the command line or in a CSV file."""

import csv
import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from mlapi.cli.context import call
from mlapi.serving.records import MAX_INTEGER


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


def predict(
    ctx: typer.Context,
    rows: Annotated[
        list[str] | None, typer.Argument(help="Rows as comma-separated numbers.")
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", exists=True, help="CSV file of rows; a header line is skipped."),
    ] = None,
    model_version: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_INTEGER, help="Ask this version; the active one if not given."),
    ] = None,
) -> None:
    """Predict rows and print the answer as JSON, as ``POST /v1/predict`` gives it."""
    data = _read_rows(rows or [], csv_file)
    answer = call(ctx, lambda backend: backend.predict(data, model_version))
    typer.echo(json.dumps(dataclasses.asdict(answer)))
