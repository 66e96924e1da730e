"""Domain errors: what they say to a notebook user, in rows and columns, and their types."""

import pytest

from mlapi.ml import (
    DownloadError,
    FieldError,
    Input,
    InvalidInputError,
    IrisClassifier,
    MlapiError,
    ModelFileError,
)


def test_field_error_names_row_and_column() -> None:
    error = FieldError(Input.ROWS, (1, 2), "must be a finite number", "finite")

    assert str(error) == "row 1, column 2: must be a finite number"


def test_field_error_of_a_whole_row_names_the_row() -> None:
    error = FieldError(Input.ROWS, (3,), "must have exactly 4 values", "wrong_width")

    assert str(error) == "row 3: must have exactly 4 values"


def test_field_error_of_all_rows_names_the_rows() -> None:
    assert str(FieldError(Input.ROWS, (), "must not be empty", "empty")) == (
        "rows: must not be empty"
    )


def test_field_error_of_a_hyperparameter_names_it() -> None:
    error = FieldError(Input.HYPERPARAMETERS, ("max_iter",), "must be at least 1", "too_small")

    assert str(error) == "max_iter: must be at least 1"


def test_field_error_of_the_algorithm_names_the_algorithm() -> None:
    error = FieldError(Input.ALGORITHM, (), "must be one of ['decision_tree']", "enum")

    assert str(error) == "algorithm: must be one of ['decision_tree']"


def test_invalid_input_error_reads_message_then_details_in_parentheses() -> None:
    error = InvalidInputError(
        "rows of the wrong width",
        [
            FieldError(Input.ROWS, (0,), "must have exactly 4 values", "wrong_width"),
            FieldError(Input.ROWS, (2,), "must have exactly 4 values", "wrong_width"),
        ],
    )

    assert str(error) == (
        "rows of the wrong width "
        "(row 0: must have exactly 4 values; row 2: must have exactly 4 values)"
    )


def test_invalid_input_error_without_details_is_its_message() -> None:
    assert str(InvalidInputError("the classifier is not trained")) == (
        "the classifier is not trained"
    )


def test_predict_error_reads_in_rows_and_columns_never_as_a_pointer() -> None:
    with pytest.raises(InvalidInputError) as caught:
        IrisClassifier.load().predict([[5.1, 3.5, 1.4, 0.2], [5.1, float("nan"), 1.4, 0.2]])

    assert str(caught.value) == (
        "values must be finite numbers (row 1, column 1: must be a finite number)"
    )
    assert "data/" not in str(caught.value)


def test_invalid_input_error_is_a_value_error_and_an_mlapi_error() -> None:
    error = InvalidInputError("bad")

    assert isinstance(error, ValueError)
    assert isinstance(error, MlapiError)


@pytest.mark.parametrize("kind", [ModelFileError, DownloadError])
def test_file_errors_are_mlapi_errors(kind: type[Exception]) -> None:
    assert issubclass(kind, MlapiError)


def test_hyperparameter_error_reads_algorithm_then_hyperparameter_name() -> None:
    with pytest.raises(InvalidInputError) as caught:
        IrisClassifier().train(
            [[1.0], [2.0]], [0, 1], algorithm="hist_gradient_boosting", max_iter=0
        )

    assert str(caught.value).startswith(
        "invalid hyperparameters for hist_gradient_boosting (max_iter: "
    )
