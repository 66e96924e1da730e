"""Checking rows of features before a model predicts them: any width, any caller.

:meth:`IrisClassifier.predict` goes through the same checks; its tests
(``test_classifier.py``) show them on Iris rows.
"""

import numpy as np
import pytest

from mlapi.ml import FieldError, Input, InvalidInputError, IrisClassifier
from mlapi.ml.rows import MAX_LISTED_ERRORS, validate_rows, validate_typed_rows


def test_validate_rows_returns_a_contiguous_float_matrix() -> None:
    matrix = validate_rows([[1, 2], (3, 4.5), np.array([5, 6])], 2)

    assert matrix.dtype == np.float64
    assert matrix.flags.c_contiguous
    assert matrix.tolist() == [[1.0, 2.0], [3.0, 4.5], [5.0, 6.0]]


def test_validate_rows_makes_a_column_slice_contiguous() -> None:
    matrix = validate_rows(np.arange(12, dtype=np.int64).reshape(3, 4)[:, ::2], 2)

    assert matrix.flags.c_contiguous
    assert matrix.tolist() == [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]]


def test_validate_rows_checks_the_width_it_is_given() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_rows([[1.0, 2.0, 3.0, 4.0]], 3)

    assert caught.value.errors == [
        FieldError(Input.ROWS, (0,), "must have exactly 3 values", "wrong_width")
    ]


def test_validate_rows_refuses_a_numpy_row_of_the_wrong_width() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_rows([np.zeros(2), np.zeros(3)], 2)

    assert [(error.input, error.location) for error in caught.value.errors] == [(Input.ROWS, (1,))]


def test_validate_rows_names_each_non_finite_cell_of_a_numpy_matrix() -> None:
    rows = np.array([[1.0, np.inf], [np.nan, 2.0], [3.0, 4.0]])

    with pytest.raises(InvalidInputError) as caught:
        validate_rows(rows, 2)

    assert caught.value.errors == [
        FieldError(Input.ROWS, (0, 1), "must be a finite number", "finite"),
        FieldError(Input.ROWS, (1, 0), "must be a finite number", "finite"),
    ]


@pytest.mark.parametrize(
    "rows",
    [np.zeros((0, 2)), np.zeros(2), np.zeros((2, 2, 1))],
    ids=["no-rows", "one-dimension", "three-dimensions"],
)
def test_validate_rows_refuses_an_array_that_is_not_a_matrix_of_that_width(
    rows: np.ndarray,
) -> None:
    with pytest.raises(InvalidInputError, match="matrix with 2 columns"):
        validate_rows(rows, 2)


def test_validate_rows_lists_at_most_the_cap_of_rows_of_the_wrong_width() -> None:
    rows = [[1.0]] * (MAX_LISTED_ERRORS + 5)

    with pytest.raises(InvalidInputError) as caught:
        validate_rows(rows, 2)

    errors = caught.value.errors
    assert len(errors) == MAX_LISTED_ERRORS + 1
    assert errors[MAX_LISTED_ERRORS - 1].location == (MAX_LISTED_ERRORS - 1,)
    assert errors[-1] == FieldError(Input.ROWS, (), "and 5 more", "truncated")


def test_validate_rows_lists_every_error_up_to_the_cap() -> None:
    rows = [[float("nan")]] * MAX_LISTED_ERRORS

    with pytest.raises(InvalidInputError) as caught:
        validate_rows(rows, 1)

    assert [error.kind for error in caught.value.errors] == ["finite"] * MAX_LISTED_ERRORS


def test_classifier_validate_rows_checks_against_its_number_of_features() -> None:
    classifier = IrisClassifier.load()

    assert classifier.validate_rows([[5.1, 3.5, 1.4, 0.2]]).tolist() == [[5.1, 3.5, 1.4, 0.2]]
    with pytest.raises(InvalidInputError) as caught:
        classifier.validate_rows([[5.1, 3.5]])
    assert caught.value.errors == [
        FieldError(Input.ROWS, (0,), "must have exactly 4 values", "wrong_width")
    ]


def test_values_beyond_float32_are_refused_not_left_to_fail_in_the_model() -> None:
    # Trees compare values as float32: 1e300 would be infinity to them (a 500 before).
    with pytest.raises(InvalidInputError) as caught:
        validate_rows([[1e300, 1.0], [1.0, -3.5e38]], 2)

    assert caught.value.errors == [
        FieldError(
            Input.ROWS, (0, 0), "must be a finite number of magnitude at most 3.403e+38", "finite"
        ),
        FieldError(
            Input.ROWS, (1, 1), "must be a finite number of magnitude at most 3.403e+38", "finite"
        ),
    ]
    assert validate_rows([[3.4e38, -3.4e38]], 2).tolist() == [[3.4e38, -3.4e38]]
    with pytest.raises(InvalidInputError):
        validate_typed_rows([[1e300]], ["number"])
