"""Packing a CSV file as a data package that mlapi (and any Frictionless tool) can read.

:func:`infer_fields` looks at every value of each column: a column whose present values
all read as integers is ``integer``, as numbers ``number``, else ``string``. The target
is ``integer`` or ``string``. :func:`pack` writes the descriptor and the CSV into a
``.zip`` or ``.tar.gz`` file and reads the result back with the same code that will
train on it, so a package it writes always trains.
"""

import csv
import io
import json
import re
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from mlapi.ml.datapackage import DESCRIPTOR, INTEGER, NUMBER, read_package
from mlapi.ml.errors import DatasetError
from mlapi.ml.tabular import Dataset

#: What a package's name may hold (Frictionless: lower case, digits, ``.``, ``_``, ``-``).
_NOT_IN_NAME = re.compile(r"[^a-z0-9._-]+")


def infer_fields(csv_path: Path, target: str, *, delimiter: str = ",") -> list[dict[str, str]]:
    """Infer a Table Schema's fields from a CSV file's header and values.

    Args:
        csv_path: A UTF-8 CSV file whose first row names the columns.
        target: The column to predict; it must be one of them.
        delimiter: The character between values.

    Returns:
        A ``{"name", "type"}`` per column, in order.

    Raises:
        DatasetError: If the file cannot be read, has no header, or lacks the target.
    """
    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            header = next(reader, None)
            if not header:
                raise DatasetError(f"{csv_path.name} has no header row")
            kinds = ["integer"] * len(header)
            for cells in reader:
                for index, cell in enumerate(cells[: len(header)]):
                    if cell != "":
                        kinds[index] = _widen(kinds[index], cell)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"cannot read {csv_path.name}: {error}") from error
    if target not in header:
        raise DatasetError(f"target {target!r} is not a column of {csv_path.name}: {header}")
    fields = [{"name": name, "type": kind} for name, kind in zip(header, kinds, strict=True)]
    for field in fields:
        if field["name"] == target and field["type"] == "number":
            field["type"] = "string"  # classes are labels, never measurements
    return fields


def _widen(kind: str, cell: str) -> str:
    if kind == "integer" and INTEGER.fullmatch(cell):
        return "integer"
    if kind in {"integer", "number"} and NUMBER.fullmatch(cell):
        return "number"
    return "string"


def descriptor(
    name: str, csv_name: str, target: str, fields: list[dict[str, str]]
) -> dict[str, Any]:
    """Write the ``datapackage.json`` of a package of one CSV file.

    Args:
        name: The package's name (see :func:`package_name`).
        csv_name: The CSV file's name inside the package.
        target: The column to predict.
        fields: The Table Schema's fields, from :func:`infer_fields`.

    Returns:
        The descriptor, ready for ``json.dumps``.
    """
    return {
        "name": name,
        "resources": [
            {
                "name": name,
                "path": csv_name,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "target": target,
                "schema": {"fields": fields, "missingValues": [""]},
            }
        ],
    }


def package_name(output: Path) -> str:
    """Name a package after the file it is written to (``My Data.zip`` → ``my-data``)."""
    stem = output.name
    for suffix in (".gz", ".tgz", ".tar", ".zip"):
        stem = stem.removesuffix(suffix)
    return _NOT_IN_NAME.sub("-", stem.lower())[:100].strip("-._") or "dataset"


def pack(source: Path, target: str, output: Path, *, delimiter: str = ",") -> Dataset:
    """Pack a CSV file as a data package, and check that it reads back.

    Args:
        source: A CSV file, or a folder holding exactly one.
        target: The column to predict.
        output: The file to write, ending in ``.zip`` or ``.tar.gz``; replaced if it
            exists, and only once the package has been read back.
        delimiter: The character between values in the CSV file.

    Returns:
        The data set, as training will read it.

    Raises:
        DatasetError: If the CSV cannot be packed, or does not read back as a data set
            (naming the row and field of each bad value).
    """
    csv_path = _one_csv(source)
    if not output.name.endswith((".zip", ".tar.gz", ".tgz")):
        raise DatasetError(f"{output.name} must end in .zip or .tar.gz")
    name = package_name(output)
    fields = infer_fields(csv_path, target, delimiter=delimiter)
    values = descriptor(name, csv_path.name, target, fields)
    if delimiter != ",":
        values["resources"][0]["dialect"] = {"delimiter": delimiter}
    text = (json.dumps(values, indent=2) + "\n").encode()
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".pack-") as folder:
        (Path(folder) / DESCRIPTOR).write_bytes(text)
        (Path(folder) / csv_path.name).write_bytes(csv_path.read_bytes())
        dataset = read_package(Path(folder))
        written = Path(folder) / output.name
        _write_archive(written, {DESCRIPTOR: text, csv_path.name: csv_path.read_bytes()})
        written.replace(output)
    return dataset


def _one_csv(source: Path) -> Path:
    if source.is_file():
        return source
    found = sorted(source.glob("*.csv")) if source.is_dir() else []
    if len(found) != 1:
        raise DatasetError(f"{source} must be a CSV file or a folder of one, found {len(found)}")
    return found[0]


def _write_archive(path: Path, members: dict[str, bytes]) -> None:
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
