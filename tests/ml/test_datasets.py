"""Data sets: Iris, default names for other data, and the fingerprint of a data set."""

import re

import numpy as np
import pytest

from mlapi.ml import datasets

IRIS_FEATURES = [
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
]
CLASS_NAMES = ["setosa", "versicolor", "virginica"]


@pytest.fixture(scope="module")
def iris() -> datasets.Dataset:
    return datasets.iris()


def test_dataset_has_150_rows_of_4_features(iris: datasets.Dataset) -> None:
    assert iris["X"].shape == (150, 4)
    assert iris["X"].dtype == np.float64
    assert iris["y"].shape == (150,)
    assert sorted(set(iris["y"].tolist())) == [0, 1, 2]


def test_dataset_names_features_and_classes(iris: datasets.Dataset) -> None:
    assert iris["feature_names"] == IRIS_FEATURES
    assert iris["class_names"] == CLASS_NAMES
    assert all(type(name) is str for name in iris["class_names"])


def test_checksum_is_64_hexadecimal_digits_and_the_same_for_the_same_data(
    iris: datasets.Dataset,
) -> None:
    digest = datasets.checksum(iris["X"], iris["y"])

    assert re.fullmatch("[0-9a-f]{64}", digest)
    assert datasets.checksum(iris["X"].copy(), iris["y"].copy()) == digest


def test_checksum_does_not_depend_on_the_memory_layout_of_the_features(
    iris: datasets.Dataset,
) -> None:
    digest = datasets.checksum(iris["X"], iris["y"])

    assert datasets.checksum(np.asfortranarray(iris["X"]), iris["y"]) == digest


def test_dataset_checksum_changes_with_a_single_value(iris: datasets.Dataset) -> None:
    features = iris["X"].copy()
    features[0, 0] += 0.1

    assert datasets.checksum(features, iris["y"]) != datasets.checksum(iris["X"], iris["y"])


def test_dataset_checksum_changes_with_a_single_class(iris: datasets.Dataset) -> None:
    target = iris["y"].copy()
    target[0] = 1

    assert datasets.checksum(iris["X"], target) != datasets.checksum(iris["X"], iris["y"])


def test_default_feature_names_of_4_columns_are_the_iris_names() -> None:
    assert datasets.default_feature_names(4) == IRIS_FEATURES


def test_default_feature_names_of_other_widths_are_numbered() -> None:
    assert datasets.default_feature_names(3) == ["feature_0", "feature_1", "feature_2"]


def test_default_class_names_of_classes_0_1_2_are_the_iris_names() -> None:
    assert datasets.default_class_names(np.array([0, 1, 2])) == CLASS_NAMES


@pytest.mark.parametrize(
    ("labels", "names"),
    [
        (np.array([0, 1]), ["0", "1"]),
        (np.array([1, 2, 3]), ["1", "2", "3"]),
        (np.array(["a", "b", "c"]), ["a", "b", "c"]),
    ],
)
def test_default_class_names_of_other_classes_are_the_values_as_text(
    labels: np.ndarray, names: list[str]
) -> None:
    assert datasets.default_class_names(labels) == names
