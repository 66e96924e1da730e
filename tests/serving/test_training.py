"""What a training trains: configured defaults resolved once, then the fit on the data set."""

from pathlib import Path
from typing import Any

import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.tree import DecisionTreeClassifier

from mlapi.ml import InvalidInputError, IrisClassifier
from mlapi.ml.errors import Input
from mlapi.serving.records import TrainingOrder
from mlapi.serving.training import resolve_training, train_model
from mlapi.settings import Settings


def _train(settings: Settings, **order: Any) -> IrisClassifier:
    return train_model(settings, resolve_training(settings, TrainingOrder(**order), "test"))


# Resolving what to train


def test_resolve_fills_configured_defaults(tmp_path: Path) -> None:
    settings = Settings(
        model_dir=str(tmp_path),
        default_algorithm="gradient_boosting",
        hyperparameters={"gradient_boosting": {"n_estimators": 7}},
        test_size=0.3,
        random_state=4,
    )

    spec = resolve_training(
        settings, TrainingOrder(hyperparameters={"max_depth": 2}), created_by="bob"
    )

    assert spec.algorithm == "gradient_boosting"
    assert spec.hyperparameters["n_estimators"] == 7
    assert spec.hyperparameters["max_depth"] == 2
    assert spec.hyperparameters["learning_rate"] == 0.1  # the catalogue's default
    assert (spec.test_size, spec.random_state) == (0.3, 4)
    assert (spec.activate, spec.created_by) == (True, "bob")


def test_resolve_explicit_hyperparameter_beats_the_configured_default(tmp_path: Path) -> None:
    settings = Settings(
        model_dir=str(tmp_path),
        hyperparameters={"gradient_boosting": {"n_estimators": 7, "max_depth": 2}},
    )

    spec = resolve_training(
        settings,
        TrainingOrder(algorithm="gradient_boosting", hyperparameters={"n_estimators": 9}),
        created_by="test",
    )

    assert (spec.hyperparameters["n_estimators"], spec.hyperparameters["max_depth"]) == (9, 2)


def test_resolve_ignores_defaults_configured_for_another_algorithm(tmp_path: Path) -> None:
    settings = Settings(
        model_dir=str(tmp_path), hyperparameters={"gradient_boosting": {"n_estimators": 7}}
    )

    spec = resolve_training(settings, TrainingOrder(algorithm="decision_tree"), created_by="test")

    assert "n_estimators" not in spec.hyperparameters
    assert spec.hyperparameters["max_depth"] is None


def test_resolve_of_the_configured_default_algorithm_checks_its_own_hyperparameters(
    tmp_path: Path,
) -> None:
    settings = Settings(model_dir=str(tmp_path), default_algorithm="hist_gradient_boosting")

    with pytest.raises(InvalidInputError) as caught:
        resolve_training(
            settings, TrainingOrder(hyperparameters={"n_estimators": 5}), created_by="test"
        )

    [error] = caught.value.errors
    assert (error.input, error.location) == (Input.HYPERPARAMETERS, ("n_estimators",))


def test_resolve_rejects_an_invalid_hyperparameter(settings: Settings) -> None:
    with pytest.raises(InvalidInputError, match="max_depth"):
        resolve_training(
            settings, TrainingOrder(hyperparameters={"max_depth": 0}), created_by="test"
        )


def test_resolve_rejects_an_unknown_algorithm(settings: Settings) -> None:
    with pytest.raises(InvalidInputError) as caught:
        resolve_training(settings, TrainingOrder(algorithm="random_forest"), created_by="test")

    assert caught.value.errors[0].input is Input.ALGORITHM


def test_resolve_gives_json_ready_hyperparameters(settings: Settings) -> None:
    spec = resolve_training(
        settings,
        TrainingOrder(algorithm="decision_tree", hyperparameters={"max_depth": 2.0}),
        created_by="t",
    )

    assert spec.hyperparameters["max_depth"] == 2
    assert type(spec.hyperparameters["max_depth"]) is int


# Training what was resolved


def test_trains_the_configured_default_algorithm_on_iris(settings: Settings) -> None:
    classifier = _train(settings)

    metadata = classifier.metadata
    assert metadata is not None
    assert isinstance(classifier.estimator, DecisionTreeClassifier)
    assert metadata.dataset_name == "iris"
    assert len(metadata.dataset_checksum) == 64
    assert metadata.feature_names == IrisClassifier.dataset()["feature_names"]
    assert metadata.class_names == ["setosa", "versicolor", "virginica"]
    assert metadata.evaluation.test_rows == 30


def test_the_same_data_set_always_has_the_same_checksum(settings: Settings) -> None:
    first = _train(settings).metadata
    second = _train(
        settings, algorithm="gradient_boosting", hyperparameters={"n_estimators": 3}
    ).metadata

    assert first is not None
    assert second is not None
    assert first.dataset_checksum == second.dataset_checksum


def test_gradient_boosting_hyperparameters_over_configured_defaults(tmp_path: Path) -> None:
    settings = Settings(
        model_dir=str(tmp_path),
        hyperparameters={"gradient_boosting": {"n_estimators": 4, "max_depth": 2}},
    )

    classifier = _train(
        settings, algorithm="gradient_boosting", hyperparameters={"n_estimators": 6}
    )

    assert isinstance(classifier.estimator, GradientBoostingClassifier)
    assert (classifier.estimator.n_estimators, classifier.estimator.max_depth) == (6, 2)


def test_configured_default_algorithm_is_trained_when_none_is_asked(tmp_path: Path) -> None:
    settings = Settings(
        model_dir=str(tmp_path),
        default_algorithm="gradient_boosting",
        hyperparameters={"gradient_boosting": {"n_estimators": 5}},
    )

    classifier = _train(settings)

    assert isinstance(classifier.estimator, GradientBoostingClassifier)
    assert classifier.estimator.n_estimators == 5


def test_test_size_and_random_state_override_the_settings(settings: Settings) -> None:
    classifier = _train(settings, test_size=0.5, random_state=3)

    assert classifier.evaluation.test_rows == 75
    assert (classifier.test_size, classifier.random_state) == (0.5, 3)


def test_progress_is_reported_up_to_done(settings: Settings) -> None:
    reported: list[float] = []
    spec = resolve_training(
        settings,
        TrainingOrder(algorithm="gradient_boosting", hyperparameters={"n_estimators": 4}),
        created_by="test",
    )

    train_model(settings, spec, progress=reported.append)

    assert reported == [0.25, 0.5, 0.75, 1.0]
