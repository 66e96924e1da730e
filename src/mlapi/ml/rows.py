"""Checking rows of features against a trained model, before it predicts them.

Pure functions of their inputs. Errors name each offending row and column (counted from
0) of the rows passed in, whatever they were called by the caller.
"""

from typing import Any

import numpy as np

from mlapi.ml.errors import FieldError, Input, InvalidInputError

#: Most offending cells listed in one error; the rest are counted, not listed.
MAX_LISTED_ERRORS = 20


def _row_error(location: tuple[int, ...], message: str, kind: str) -> FieldError:
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
        if not rows:
            raise InvalidInputError("no rows", [_row_error((), "must not be empty", "empty")])
        wrong = [
            _row_error((index,), f"must have exactly {width} values", "wrong_width")
            for index, row in enumerate(rows)
            if not isinstance(row, list | tuple | np.ndarray) or len(row) != width
        ]
        if wrong:
            raise InvalidInputError("rows of the wrong width", _capped(wrong))
    try:
        matrix = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"rows must be numbers: {error}") from error
    if matrix.ndim != 2 or matrix.shape[1] != width or len(matrix) == 0:
        raise InvalidInputError(f"rows must be a matrix with {width} columns")
    finite = np.isfinite(matrix)
    if not finite.all():
        raise InvalidInputError(
            "values must be finite numbers",
            _capped(
                [
                    _row_error((int(row), int(column)), "must be a finite number", "finite")
                    for row, column in np.argwhere(~finite)
                ]
            ),
        )
    return matrix
