"""Fitting an estimator on a held-out split: a pure function of the data and the seeds."""

import dataclasses
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from mlapi import __version__
from mlapi.ml import Input, InvalidInputError, ModelMetadata, datasets, training
from mlapi.ml.estimators import get_estimator
from mlapi.ml.tabular import takes_raw_values

CLASS_NAMES = ["setosa", "versicolor", "virginica"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def iris() -> datasets.Dataset:
    return datasets.iris()


def _fit(
    X: Any,  # noqa: N803 - the usual name of a feature matrix
    y: Any,
    algorithm: str = "decision_tree",
    hyperparameters: dict[str, Any] | None = None,
    **options: Any,
) -> tuple[Any, ModelMetadata]:
    arguments: dict[str, Any] = {
        "test_size": 0.2,
        "random_state": 0,
        "feature_names": None,
        "class_names": None,
        "dataset_name": "iris",
        **options,
    }
    return training.fit(get_estimator(algorithm), hyperparameters or {}, X, y, **arguments)


def _timeless(metadata: ModelMetadata) -> ModelMetadata:
    """The metadata without when training finished and how long it took."""
    return dataclasses.replace(metadata, trained_at=EPOCH, training_seconds=0.0)


def test_fit_is_deterministic_for_a_fixed_seed(iris: datasets.Dataset) -> None:
    hyperparameters = {"n_estimators": 10, "subsample": 0.5}  # random in the fit too

    first, first_metadata = _fit(iris["X"], iris["y"], "gradient_boosting", hyperparameters)
    second, second_metadata = _fit(iris["X"], iris["y"], "gradient_boosting", hyperparameters)

    assert _timeless(first_metadata) == _timeless(second_metadata)
    assert first.predict_proba(iris["X"]).tolist() == second.predict_proba(iris["X"]).tolist()


def test_fit_splits_the_rows_by_the_seed(iris: datasets.Dataset) -> None:
    hyperparameters = {"n_estimators": 10}

    first, _ = _fit(iris["X"], iris["y"], "gradient_boosting", hyperparameters, random_state=0)
    other, _ = _fit(iris["X"], iris["y"], "gradient_boosting", hyperparameters, random_state=1)

    assert first.predict_proba(iris["X"]).tolist() != other.predict_proba(iris["X"]).tolist()


def test_fit_holds_out_the_same_share_of_every_class(iris: datasets.Dataset) -> None:
    _, metadata = _fit(iris["X"], iris["y"])

    assert metadata.training_rows == 120
    assert metadata.evaluation.test_rows == 30
    assert [metrics.support for metrics in metadata.evaluation.per_class.values()] == [10, 10, 10]


def test_fit_records_what_it_trained_and_on_which_data(iris: datasets.Dataset) -> None:
    estimator, metadata = _fit(iris["X"], iris["y"], dataset_name="iris-copy")

    assert metadata.algorithm == "decision_tree"
    assert metadata.hyperparameters == get_estimator("decision_tree").validate({}).model_dump()
    assert metadata.feature_names == iris["feature_names"]
    assert metadata.class_names == CLASS_NAMES
    assert metadata.dataset_name == "iris-copy"
    assert metadata.dataset_checksum == datasets.checksum(iris["X"], iris["y"])
    assert metadata.mlapi_version == __version__
    assert metadata.trained_at.tzinfo is UTC
    metadata.check_describes(estimator)


def test_fit_keeps_the_names_it_is_given(iris: datasets.Dataset) -> None:
    _, metadata = _fit(
        iris["X"], iris["y"], feature_names=["a", "b", "c", "d"], class_names=["x", "y", "z"]
    )

    assert metadata.feature_names == ["a", "b", "c", "d"]
    assert list(metadata.evaluation.per_class) == ["x", "y", "z"]


def test_fit_trains_hist_gradient_boosting_and_reports_it_done_once(
    iris: datasets.Dataset,
) -> None:
    reported: list[float] = []

    estimator, metadata = _fit(
        iris["X"], iris["y"], "hist_gradient_boosting", {"max_iter": 20}, progress=reported.append
    )

    assert isinstance(estimator, HistGradientBoostingClassifier)
    assert estimator.n_iter_ == 20
    assert metadata.hyperparameters["max_iter"] == 20
    assert reported == [1.0]


def test_fit_validates_hyperparameters_before_looking_at_the_data() -> None:
    with pytest.raises(InvalidInputError) as caught:
        _fit("not a matrix", None, "hist_gradient_boosting", {"max_iter": 0})

    assert [(error.input, error.location) for error in caught.value.errors] == [
        (Input.HYPERPARAMETERS, ("max_iter",))
    ]


def test_fit_refuses_data_whose_only_row_of_a_class_is_held_out(iris: datasets.Dataset) -> None:
    rows = [*range(100), 100]  # setosa, versicolor and a single virginica

    with pytest.raises(InvalidInputError, match="no training rows of class virginica"):
        _fit(iris["X"][rows], iris["y"][rows], random_state=1)  # the split holds row 100 out


def test_fit_trains_on_a_class_of_a_single_row_kept_for_training(iris: datasets.Dataset) -> None:
    rows = [*range(100), 100]

    estimator, metadata = _fit(iris["X"][rows], iris["y"][rows], random_state=0)

    assert estimator.classes_.tolist() == [0, 1, 2]
    metadata.check_describes(estimator)


@pytest.mark.parametrize("seed", range(8))
def test_one_missing_value_anywhere_gives_a_model_that_fills_missing_values(seed: int) -> None:
    data = datasets.iris()
    features = data["X"].copy()
    features[149, 0] = np.nan  # held out by some seeds, trained on by others

    model, _ = training.fit(
        get_estimator("decision_tree"),
        {},
        features,
        data["y"],
        test_size=0.2,
        random_state=seed,
        feature_names=None,
        class_names=None,
        dataset_name="iris",
        feature_types=["number"] * 4,
    )

    assert takes_raw_values(model)
