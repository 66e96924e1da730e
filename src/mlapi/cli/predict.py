"""``mlapi predict``: classify rows given on the command line or in a CSV file."""

import csv
import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from mlapi.cli.context import call
from mlapi.serving.records import MAX_INTEGER


def _cell(text: str) -> float | str | None:
    """Read a value as the model takes it: a number, text (a category), or missing."""
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _read_rows(rows: list[str], csv_file: Path | None) -> list[Any]:
    parsed: list[Any] = [[_cell(cell) for cell in row.split(",")] for row in rows]
    if csv_file is not None:
        with csv_file.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, restkey="")
            for record in reader:
                if "" in record or None in record.values():
                    raise typer.BadParameter(
                        f"does not match its header at line {reader.line_num}",
                        param_hint="--csv",
                    )
                parsed.append({name: _cell(cell) for name, cell in record.items()})
    if not parsed:
        raise typer.BadParameter("give rows as arguments (5.1,3.5,1.4,0.2) or --csv FILE")
    return parsed


def predict(
    ctx: typer.Context,
    rows: Annotated[
        list[str] | None,
        typer.Argument(help="Rows as comma-separated values (numbers, or text for a category)."),
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv", exists=True, help="CSV file of rows, its header naming the model's features."
        ),
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
