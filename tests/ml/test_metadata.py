"""Model metadata: its round trip through a model file, and the estimator it describes."""

import json
from typing import Any

import pytest
from sklearn.tree import DecisionTreeClassifier

from mlapi.ml import ModelFileError, ModelMetadata, datasets, training
from mlapi.ml.estimators import get_estimator


@pytest.fixture(scope="module")
def iris() -> datasets.Dataset:
    return datasets.iris()


@pytest.fixture(scope="module")
def fitted(iris: datasets.Dataset) -> tuple[Any, ModelMetadata]:
    """A decision tree on Iris and its metadata."""
    return training.fit(
        get_estimator("decision_tree"),
        {},
        iris["X"],
        iris["y"],
        test_size=0.2,
        random_state=0,
        feature_names=None,
        class_names=None,
        dataset_name="iris",
    )


def test_check_describes_accepts_the_estimator_it_was_trained_with(
    fitted: tuple[Any, ModelMetadata],
) -> None:
    estimator, metadata = fitted

    metadata.check_describes(estimator)


def test_check_describes_refuses_an_estimator_of_other_classes(
    fitted: tuple[Any, ModelMetadata], iris: datasets.Dataset
) -> None:
    _, metadata = fitted
    two_classes = DecisionTreeClassifier().fit(iris["X"][:100], iris["y"][:100])

    with pytest.raises(ModelFileError, match="classes"):
        metadata.check_describes(two_classes)


def test_check_describes_refuses_an_estimator_of_other_features(
    fitted: tuple[Any, ModelMetadata], iris: datasets.Dataset
) -> None:
    _, metadata = fitted
    two_features = DecisionTreeClassifier().fit(iris["X"][:, :2], iris["y"])

    with pytest.raises(ModelFileError, match="features"):
        metadata.check_describes(two_features)


def test_check_describes_refuses_an_unfitted_estimator(fitted: tuple[Any, ModelMetadata]) -> None:
    _, metadata = fitted

    with pytest.raises(ModelFileError, match="classes"):
        metadata.check_describes(DecisionTreeClassifier())


def test_to_dict_is_plain_data_that_from_dict_rebuilds(fitted: tuple[Any, ModelMetadata]) -> None:
    _, metadata = fitted
    values = metadata.to_dict()

    assert json.loads(json.dumps(values)) == values
    assert ModelMetadata.from_dict(values) == metadata


@pytest.mark.parametrize(
    ("field", "value"),
    [("trained_at", "yesterday"), ("evaluation", {"accuracy": 1.0}), ("unknown", 1)],
)
def test_from_dict_refuses_malformed_metadata(
    fitted: tuple[Any, ModelMetadata], field: str, value: Any
) -> None:
    values = {**fitted[1].to_dict(), field: value}

    with pytest.raises(ModelFileError, match="malformed metadata"):
        ModelMetadata.from_dict(values)


def test_from_dict_refuses_metadata_missing_a_field(fitted: tuple[Any, ModelMetadata]) -> None:
    values = fitted[1].to_dict()
    del values["dataset_checksum"]

    with pytest.raises(ModelFileError, match="malformed metadata"):
        ModelMetadata.from_dict(values)
