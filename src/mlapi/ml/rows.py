"""Checking rows of features against a trained model, before it predicts them.

Rows are lists of values in the model's column order, or objects (dicts) keyed by
feature name (see :func:`rows_from_objects`). A model of numeric columns with nothing
missing in training takes finite numbers (:func:`validate_rows`); any other model also
takes text in its categorical columns and a missing value (None or NaN) anywhere, which
its preprocessing fills in (:func:`validate_typed_rows`).

Pure functions of their inputs. Errors name each offending row and column (counted from
0, or the feature's name for a row given as an object) of the rows passed in, whatever
they were called by the caller.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlapi.ml.errors import FieldError, Input, InvalidInputError
from mlapi.ml.tabular import is_categorical

#: Most offending cells listed in one error; the rest are counted, not listed.
MAX_LISTED_ERRORS = 20

#: Largest magnitude a value may have: tree models compare values as float32, and a
#: larger one would be infinity to them.
MAX_MAGNITUDE = float(np.finfo(np.float32).max)


def in_range(matrix: np.ndarray) -> np.ndarray:
    """Say which cells of a float matrix a model takes: finite, at most :data:`MAX_MAGNITUDE`.

    Returns:
        A boolean matrix of the same shape; False for NaN and infinities too.
    """
    with np.errstate(invalid="ignore"):
        taken: np.ndarray = np.abs(matrix) <= MAX_MAGNITUDE
    return taken


def _row_error(location: tuple[int | str, ...], message: str, kind: str) -> FieldError:
    return FieldError(Input.ROWS, location, message, kind)


def _capped(errors: list[FieldError]) -> list[FieldError]:
    if len(errors) <= MAX_LISTED_ERRORS:
        return errors
    more = len(errors) - MAX_LISTED_ERRORS
    return [*errors[:MAX_LISTED_ERRORS], _row_error((), f"and {more} more", "truncated")]


def validate_rows(rows: Any, width: int) -> np.ndarray:
    """Check rows of features and convert them to a float matrix.

    Args:
        rows: A list of rows (lists, tuples or arrays) or a 2-D array.
        width: Number of features each row must have.

    Returns:
        A C-contiguous float64 matrix of shape ``(len(rows), width)``.

    Raises:
        InvalidInputError: Naming each row of the wrong width and each cell that is not
            a finite number (at most :data:`MAX_LISTED_ERRORS` of them, then a count).
    """
    if isinstance(rows, list):
        validate_rows_shape(rows, width)
    try:
        matrix = np.asarray(rows)
        if matrix.dtype.kind not in "fiu":  # text, None, booleans or huge integers
            raise TypeError(f"rows hold {matrix.dtype} values")
        matrix = matrix.astype(np.float64, copy=False)
    except (TypeError, ValueError, OverflowError) as error:
        if isinstance(rows, list):  # name each cell at fault
            validate_typed_rows(rows, ["number"] * width, allow_missing=False)
        raise InvalidInputError(f"rows must be numbers: {error}") from error
    if matrix.ndim != 2 or matrix.shape[1] != width or len(matrix) == 0:
        raise InvalidInputError(f"rows must be a matrix with {width} columns")
    taken = in_range(matrix)
    if not taken.all():
        raise InvalidInputError(
            "values must be finite numbers",
            _capped(
                [
                    _row_error(
                        (int(row), int(column)), _out_of_range(matrix[row, column]), "finite"
                    )
                    for row, column in np.argwhere(~taken)
                ]
            ),
        )
    return matrix


def rows_from_objects(rows: Any, feature_names: Sequence[str]) -> Any:
    """Turn rows given as objects keyed by feature name into lists in column order.

    Args:
        rows: Rows as lists or as mappings; anything else is returned as it is.
        feature_names: The model's columns, in order.

    Returns:
        The rows, each mapping replaced by its values in column order.

    Raises:
        InvalidInputError: Naming each row that lacks a feature or names an unknown one.
    """
    if not isinstance(rows, list) or not any(isinstance(row, Mapping) for row in rows):
        return rows
    known = set(feature_names)
    errors: list[FieldError] = []
    for index, row in enumerate(rows):
        if isinstance(row, Mapping):
            errors += [
                _row_error((index, name), "is missing", "missing_feature")
                for name in feature_names
                if name not in row
            ]
            errors += [
                _row_error(
                    (index, str(name)),
                    f"is not a feature of the model {list(feature_names)}",
                    "unknown_feature",
                )
                for name in row
                if name not in known
            ]
    if errors:
        raise InvalidInputError("rows name the wrong features", _capped(errors))
    return [
        [row[name] for name in feature_names] if isinstance(row, Mapping) else row for row in rows
    ]


def validate_typed_rows(
    rows: Any, feature_types: Sequence[str], *, allow_missing: bool = True
) -> np.ndarray:
    """Check rows for a model with categorical columns or missing values, and convert them.

    Args:
        rows: A list of rows (lists, tuples or arrays) or a 2-D array.
        feature_types: The type of each column; ``string`` columns are categorical.
        allow_missing: Whether None and NaN are taken (as missing values).

    Returns:
        A matrix of shape ``(len(rows), len(feature_types))``: float64 when every column
        is numeric, else objects; NaN wherever a value is missing.

    Raises:
        InvalidInputError: Naming each row of the wrong width and each cell of the wrong
            type (at most :data:`MAX_LISTED_ERRORS` of them, then a count).
    """
    width = len(feature_types)
    if isinstance(rows, np.ndarray):
        rows = rows.tolist()
    validate_rows_shape(rows, width)
    categorical = [is_categorical(kind) for kind in feature_types]
    matrix = np.empty((len(rows), width), dtype=object if any(categorical) else np.float64)
    errors: list[FieldError] = []
    for row_index, row in enumerate(rows):
        for column, (value, text) in enumerate(zip(row, categorical, strict=True)):
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            if missing and allow_missing:
                matrix[row_index, column] = np.nan
            elif text and isinstance(value, str):
                matrix[row_index, column] = value
            elif not text and _is_finite_number(value):
                matrix[row_index, column] = float(value)
            else:
                expected = "a string" if text else "a finite number"
                expected += " or null" if allow_missing else ""
                errors.append(_row_error((row_index, column), f"must be {expected}", "type"))
    if errors:
        raise InvalidInputError("values of the wrong type", _capped(errors))
    return matrix


def validate_rows_shape(rows: Any, width: int) -> None:
    """Check that rows are a non-empty list of sequences, each ``width`` values long.

    Args:
        rows: The rows as given.
        width: Number of features each row must have.

    Raises:
        InvalidInputError: If there are no rows, naming each row of the wrong width.
    """
    if not isinstance(rows, list):
        raise InvalidInputError("no rows", [_row_error((), "must be a list of rows", "type")])
    if not rows:
        raise InvalidInputError("no rows", [_row_error((), "must not be empty", "empty")])
    wrong = [
        _row_error((index,), f"must have exactly {width} values", "wrong_width")
        for index, row in enumerate(rows)
        if not isinstance(row, list | tuple | np.ndarray) or len(row) != width
    ]
    if wrong:
        raise InvalidInputError("rows of the wrong width", _capped(wrong))


def _out_of_range(value: float) -> str:
    if math.isfinite(value):
        return f"must be a finite number of magnitude at most {MAX_MAGNITUDE:.4g}"
    return "must be a finite number"


def _is_finite_number(value: Any) -> bool:
    if not isinstance(value, int | float | np.integer | np.floating) or isinstance(value, bool):
        return False
    try:
        return abs(float(value)) <= MAX_MAGNITUDE  # False for NaN and infinities
    except OverflowError:  # an integer beyond any float
        return False
