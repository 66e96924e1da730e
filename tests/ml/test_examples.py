"""Example rows: recorded at training, rebuilt for models that recorded none."""

import dataclasses
from typing import Any

import numpy as np
import pytest

from mlapi.ml import IrisClassifier, ModelMetadata, datasets, training
from mlapi.ml.estimators import get_estimator
from mlapi.ml.examples import ExampleRow, example_row, first_row, placeholder_row

#: The first row of Iris, as the article sends it.
IRIS_ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture(scope="module")
def iris_metadata() -> ModelMetadata:
    """The metadata of a tree trained on Iris now, which records its example."""
    data = datasets.iris()
    _, metadata = training.fit(
        get_estimator("decision_tree"),
        {},
        data["X"],
        data["y"],
        test_size=0.2,
        random_state=0,
        feature_names=data["feature_names"],
        class_names=data["class_names"],
        dataset_name="iris",
    )
    return metadata


def test_first_row_skips_rows_with_a_missing_value_and_keeps_each_type() -> None:
    features = np.array(
        [[np.nan, "ginger", 3.0], [4.5, np.nan, 2.0], [4.0, "tabby", 7.0], [9.0, "black", 1.0]],
        dtype=object,
    )

    row = first_row(features, ["number", "string", "integer"])

    assert row == [4.0, "tabby", 7]
    assert [type(value) for value in row] == [float, str, int]


def test_first_row_of_data_missing_a_value_in_every_row_gives_null_there() -> None:
    features = np.array([[np.nan, 1.0], [2.0, np.nan]])

    assert first_row(features, ["number", "number"]) == [None, 1.0]


def test_training_records_the_first_row_of_the_data_set(iris_metadata: ModelMetadata) -> None:
    assert iris_metadata.example_row == IRIS_ROW
    assert example_row(iris_metadata) == ExampleRow(IRIS_ROW)


def test_model_file_keeps_the_example_and_older_files_have_none(
    iris_metadata: ModelMetadata,
) -> None:
    values = iris_metadata.to_dict()
    older = {name: value for name, value in values.items() if name != "example_row"}

    assert ModelMetadata.from_dict(values).example_row == IRIS_ROW
    assert ModelMetadata.from_dict(older).example_row is None


def test_bundled_model_records_no_row_and_shows_the_first_row_of_iris() -> None:
    metadata = IrisClassifier.load().metadata
    assert metadata is not None

    assert metadata.example_row is None
    assert example_row(metadata) == ExampleRow(IRIS_ROW)


def test_model_of_another_data_set_without_a_row_gets_placeholders(
    iris_metadata: ModelMetadata,
) -> None:
    # As a version trained on a fetched package before mlapi recorded rows.
    metadata = dataclasses.replace(
        iris_metadata,
        example_row=None,
        dataset_name="pets",
        feature_names=["weight", "colour", "age", "vaccinated"],
        feature_types=["number", "string", "integer", "number"],
    )

    assert example_row(metadata) == ExampleRow([0.0, None, 0, 0.0], placeholder=True)


def test_iris_row_is_not_taken_for_a_data_set_of_the_same_name_and_other_rows(
    iris_metadata: ModelMetadata,
) -> None:
    metadata = dataclasses.replace(iris_metadata, example_row=None, dataset_checksum="0" * 64)

    assert example_row(metadata).placeholder


@pytest.mark.parametrize(
    "recorded",
    [
        [5.1, 3.5, 1.4],  # too short
        [5.1, 3.5, 1.4, True],  # a boolean is no number
        [5.1, 3.5, 1.4, float("inf")],
        [5.1, 3.5, 1.4, "wide"],  # text in a numeric column
        [5.1, 3.5, 1.4, [0.2]],
        "5.1, 3.5, 1.4, 0.2",
    ],
)
def test_a_malformed_recorded_row_is_not_shown(iris_metadata: ModelMetadata, recorded: Any) -> None:
    metadata = dataclasses.replace(iris_metadata, example_row=recorded, dataset_name="other")

    assert example_row(metadata) == ExampleRow([0.0, 0.0, 0.0, 0.0], placeholder=True)


def test_placeholders_are_zero_for_numbers_and_null_for_text() -> None:
    assert placeholder_row(["number", "integer", "string"]) == [0.0, 0, None]


def test_a_recorded_row_is_not_shown_where_training_data_is_confidential(
    iris_metadata: ModelMetadata,
) -> None:
    other = dataclasses.replace(iris_metadata, dataset_name="patients")

    assert example_row(other, recorded=False) == ExampleRow([0.0] * 4, placeholder=True)
    # Iris is public and bundled: its row is shown either way.
    assert example_row(iris_metadata, recorded=False) == ExampleRow(IRIS_ROW)
