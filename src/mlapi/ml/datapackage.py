"""Reading a tabular Frictionless Data Package: its descriptor, then its CSV, checked.

The format (https://datapackage.org): a folder holding ``datapackage.json`` and one CSV
file. The descriptor names the CSV (``path``), describes its columns with a Table Schema
(``schema.fields``: a ``name`` and a ``type`` each) and, as mlapi's own property of the
resource, names the column to predict (``target``)::

    {"name": "iris",
     "resources": [{"name": "iris", "path": "iris.csv", "target": "species",
                    "schema": {"fields": [{"name": "sepal_length", "type": "number"},
                                          ...,
                                          {"name": "species", "type": "string"}]}}]}

Feature columns are ``number``, ``integer`` or ``string`` (categorical); the target is
``string`` or ``integer``. Cells listed in ``schema.missingValues`` (by default the empty
string) are missing: allowed in features, refused in the target. Rows are counted as
spreadsheets and Frictionless count them, the header being row 1.

Pure functions of the folder's files: nothing here downloads, extracts or writes.
"""

import csv
import json
import math
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlapi.ml.errors import DatasetError
from mlapi.ml.tabular import Dataset, FeatureType, checksum

#: The descriptor's file name, at the package's root.
DESCRIPTOR = "datapackage.json"

#: Most problems listed in one error; the rest are counted.
MAX_LISTED_PROBLEMS = 20

#: An integer cell, as Table Schema writes one (no spaces, no ``_`` separators).
INTEGER = re.compile(r"[+-]?[0-9]{1,18}")

#: A finite number cell, as Table Schema writes one.
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")

#: Largest descriptor read, in bytes.
MAX_DESCRIPTOR_BYTES = 1024 * 1024

Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Field(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: Name
    type: str = "string"


class _Schema(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    fields: list[_Field] = Field(min_length=2, max_length=10_000)
    missing_values: list[str] = Field(default=[""], alias="missingValues", max_length=100)


class _Dialect(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quote_char: str = Field(default='"', alias="quoteChar", min_length=1, max_length=1)
    header: Literal[True] = True


class _Resource(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    path: Name
    table_schema: _Schema | Name = Field(alias="schema")
    target: Name
    dialect: _Dialect = _Dialect()
    encoding: str = "utf-8"


class _Package(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(default="dataset", pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=100)
    resources: list[_Resource] = Field(min_length=1, max_length=1)


def find_descriptor(folder: Path) -> Path:
    """Find ``datapackage.json`` at the root of an extracted package, or one folder down.

    Args:
        folder: Where the package was extracted; archives often wrap it in one folder.

    Returns:
        The descriptor's path.

    Raises:
        DatasetError: If there is none, or more than one.
    """
    found = [folder / DESCRIPTOR] if (folder / DESCRIPTOR).is_file() else []
    if not found:
        found = sorted(path for path in folder.glob(f"*/{DESCRIPTOR}") if path.is_file())
    if len(found) != 1:
        raise DatasetError(f"the package must hold one {DESCRIPTOR}, found {len(found)}")
    return found[0]


def read_package(folder: Path, *, max_rows: int = 1_000_000) -> Dataset:
    """Read and check an extracted data package: its descriptor, then every CSV row.

    Args:
        folder: The extracted package (see :func:`find_descriptor`).
        max_rows: Most data rows accepted.

    Returns:
        The data set: features as floats (NaN where missing), or as objects when a
        column is categorical; classes as indices into ``class_names``, which are
        sorted (numerically for an integer target).

    Raises:
        DatasetError: Saying what is wrong with the descriptor, or naming the row and
            field of each bad cell, or why the rows cannot train a classifier.
    """
    descriptor = find_descriptor(folder)
    package = _read_descriptor(descriptor)
    resource = package.resources[0]
    root = descriptor.parent
    schema = _schema(resource, root)
    names = [field.name for field in schema.fields]
    if len(set(names)) != len(names):
        raise DatasetError("schema field names must be unique")
    if resource.target not in names:
        raise DatasetError(f"target {resource.target!r} is not a field of the schema")
    types = {field.name: field.type for field in schema.fields}
    for name, kind in types.items():
        allowed = ("string", "integer") if name == resource.target else get_args(FeatureType)
        if kind not in allowed:
            role = "the target" if name == resource.target else "a feature"
            raise DatasetError(f"field {name!r} has type {kind!r}; {role} must be {allowed}")
    columns = _read_columns(_inside(root, resource.path), resource, schema, types, max_rows)
    return _to_dataset(package.name, columns, types, resource.target)


def _read_descriptor(path: Path) -> _Package:
    try:
        if path.stat().st_size > MAX_DESCRIPTOR_BYTES:
            raise DatasetError(f"{DESCRIPTOR} is over {MAX_DESCRIPTOR_BYTES} bytes")
        values = json.loads(path.read_bytes())
        return _Package.model_validate(values)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"cannot read {DESCRIPTOR}: {error}") from error
    except ValidationError as error:
        raise DatasetError(f"{DESCRIPTOR} is invalid: {_pydantic_problems(error)}") from error


def _pydantic_problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'/'.join(map(str, detail['loc'])) or 'descriptor'}: {detail['msg']}"
        for detail in error.errors()
    )


def _inside(root: Path, relative: str) -> Path:
    """Resolve a path the descriptor names, refusing any that leaves the package."""
    parts = PurePosixPath(relative).parts
    if "://" in relative or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise DatasetError(f"path {relative!r} must be relative and inside the package")
    path = root.joinpath(*parts)
    if not path.is_file():
        raise DatasetError(f"the package has no file {relative!r}")
    return path


def _schema(resource: _Resource, root: Path) -> _Schema:
    if isinstance(resource.table_schema, _Schema):
        return resource.table_schema
    path = _inside(root, resource.table_schema)
    try:
        return _Schema.model_validate_json(path.read_bytes()[: MAX_DESCRIPTOR_BYTES + 1])
    except (OSError, ValidationError) as error:
        raise DatasetError(f"schema {resource.table_schema!r} is invalid: {error}") from error


class _Problems:
    """Collects bad cells, naming row and field, up to :data:`MAX_LISTED_PROBLEMS`."""

    def __init__(self) -> None:
        self.listed: list[str] = []
        self.count = 0

    def add(self, row: int, field: str | None, message: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            where = f"row {row}" + (f", field {field!r}" if field else "")
            self.listed.append(f"{where}: {message}")

    def raise_any(self) -> None:
        if self.count:
            more = self.count - len(self.listed)
            tail = [f"and {more} more"] if more else []
            raise DatasetError("the CSV does not match its schema", [*self.listed, *tail])


def _read_columns(
    path: Path, resource: _Resource, schema: _Schema, types: dict[str, str], max_rows: int
) -> dict[str, list[Any]]:
    missing = set(schema.missing_values)
    names = list(types)
    columns: dict[str, list[Any]] = {name: [] for name in names}
    problems = _Problems()
    try:
        # A byte-order mark (as spreadsheets write) is no part of the first field's name.
        encoding = (
            "utf-8-sig" if resource.encoding.lower() in {"utf-8", "utf8"} else resource.encoding
        )
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.reader(
                handle,
                delimiter=resource.dialect.delimiter,
                quotechar=resource.dialect.quote_char,
                strict=True,
            )
            header = next(reader, None)
            if header != names:
                raise DatasetError(
                    f"the CSV header {header} must name the schema's fields in order: {names}"
                )
            for row_number, cells in enumerate(reader, start=2):
                if not cells:
                    continue  # a blank line is no row, but counts as spreadsheets count
                if row_number - 1 > max_rows:
                    raise DatasetError(f"the CSV has over {max_rows} rows")
                if len(cells) != len(names):
                    problems.add(row_number, None, f"has {len(cells)} values, not {len(names)}")
                    continue
                for name, cell in zip(names, cells, strict=True):
                    columns[name].append(
                        _parse(cell, types[name], missing, row_number, name, problems)
                    )
    except (OSError, LookupError, UnicodeError, csv.Error) as error:
        raise DatasetError(f"cannot read {resource.path!r}: {error}") from error
    problems.raise_any()
    return columns


def _parse(
    cell: str, kind: str, missing: set[str], row: int, name: str, problems: _Problems
) -> Any:
    if cell in missing:
        return None
    if kind == "string":
        return cell
    pattern = INTEGER if kind == "integer" else NUMBER
    if pattern.fullmatch(cell) is None:
        problems.add(row, name, f"{cell[:40]!r} is not a finite {kind}")
        return None
    value = int(cell) if kind == "integer" else float(cell)
    if value in (math.inf, -math.inf):
        problems.add(row, name, f"{cell[:40]!r} is not a finite {kind}")
        return None
    return value


def _to_dataset(
    name: str, columns: dict[str, list[Any]], types: dict[str, str], target_name: str
) -> Dataset:
    target = columns.pop(target_name)
    feature_types: list[FeatureType] = [types[column] for column in columns]  # type: ignore[misc]
    problems = _Problems()
    for row, value in enumerate(target, start=2):
        if value is None:
            problems.add(row, target_name, "the target is missing")
    problems.raise_any()
    if len(target) < 2:
        raise DatasetError("the CSV needs at least two rows")
    labels, classes = np.unique(np.asarray(target), return_inverse=True)
    if len(labels) < 2:
        raise DatasetError(f"the target {target_name!r} has one class; a classifier needs two")
    categorical = "string" in feature_types
    features = np.empty((len(target), len(columns)), dtype=object if categorical else np.float64)
    for index, values in enumerate(columns.values()):
        features[:, index] = [np.nan if value is None else value for value in values]
    return Dataset(
        name=name,
        X=features,
        y=classes,
        feature_names=list(columns),
        feature_types=feature_types,
        class_names=[str(label) for label in labels.tolist()],
        checksum=checksum(features, classes),
    )
