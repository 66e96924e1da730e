"""Training on the configured data set, as jobs and the CLI do it."""

from pathlib import Path

from sklearn.ensemble import GradientBoostingClassifier
from sklearn.tree import DecisionTreeClassifier

from mlapi.ml import IrisClassifier
from mlapi.serving.training import train_on_dataset
from mlapi.settings import Settings


def test_trains_the_configured_default_algorithm_on_iris(settings: Settings) -> None:
    classifier = train_on_dataset(settings)

    metadata = classifier.metadata
    assert metadata is not None
    assert isinstance(classifier.estimator, DecisionTreeClassifier)
    assert metadata.dataset_name == "iris"
    assert len(metadata.dataset_checksum) == 64
    assert metadata.feature_names == IrisClassifier.dataset()["feature_names"]
    assert metadata.class_names == ["setosa", "versicolor", "virginica"]
    assert metadata.evaluation.test_rows == 30


def test_the_same_data_set_always_has_the_same_checksum(settings: Settings) -> None:
    first = train_on_dataset(settings).metadata
    second = train_on_dataset(
        settings, algorithm="gradient_boosting", hyperparameters={"n_estimators": 3}
    ).metadata

    assert first is not None
    assert second is not None
    assert first.dataset_checksum == second.dataset_checksum


def test_gradient_boosting_flag_and_hyperparameters_over_configured_defaults(
    tmp_path: Path,
) -> None:
    settings = Settings(
        model_dir=str(tmp_path),
        hyperparameters={"gradient_boosting": {"n_estimators": 4, "max_depth": 2}},
    )

    classifier = train_on_dataset(settings, True, hyperparameters={"n_estimators": 6})

    assert isinstance(classifier.estimator, GradientBoostingClassifier)
    assert (classifier.estimator.n_estimators, classifier.estimator.max_depth) == (6, 2)


def test_test_size_and_random_state_override_the_settings(settings: Settings) -> None:
    classifier = train_on_dataset(settings, test_size=0.5, random_state=3)

    assert classifier.evaluation.test_rows == 75
    assert (classifier.test_size, classifier.random_state) == (0.5, 3)


def test_progress_is_reported_up_to_done(settings: Settings) -> None:
    reported: list[float] = []

    train_on_dataset(
        settings,
        algorithm="gradient_boosting",
        hyperparameters={"n_estimators": 4},
        progress=reported.append,
    )

    assert reported == [0.25, 0.5, 0.75, 1.0]
