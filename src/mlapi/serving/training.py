"""Training a classifier on the configured data set, as jobs and the CLI do it."""

from typing import Any

from mlapi.ml import IrisClassifier
from mlapi.ml.estimators import ProgressCallback
from mlapi.settings import Settings


def train_on_dataset(
    settings: Settings,
    gradient_boosting: bool = False,
    *,
    algorithm: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    test_size: float | None = None,
    random_state: int | None = None,
    progress: ProgressCallback | None = None,
) -> IrisClassifier:
    """Train a new classifier on the data set, as configured. Blocks for the training time.

    Args:
        settings: Hyperparameter defaults, held-out split and the like.
        gradient_boosting: Train gradient boosting instead of the default algorithm.
        algorithm: Any algorithm of the catalogue; overrides ``gradient_boosting``.
        hyperparameters: Hyperparameters over the configured defaults.
        test_size: Held-out share; the configured one if None.
        random_state: Seed of the held-out split; the configured one if None.
        progress: Called with the share of fitting done.

    Returns:
        The trained, unsaved classifier.

    Raises:
        InvalidInputError: If the algorithm or a hyperparameter is invalid.
    """
    options = settings.classifier_options()
    if test_size is not None:
        options["test_size"] = test_size
    if random_state is not None:
        options["random_state"] = random_state
    classifier = IrisClassifier(**options)
    data = classifier.dataset()
    classifier.train(
        data["X"],
        data["y"],
        gradient_boosting,
        algorithm=algorithm,
        feature_names=data["feature_names"],
        class_names=data["class_names"],
        dataset_name="iris",
        progress=progress,
        **(hyperparameters or {}),
    )
    return classifier
