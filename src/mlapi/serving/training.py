"""What a training trains, as configured: defaults resolved once, then the fit itself.

:func:`resolve_training` is the one place where the configured defaults (algorithm,
hyperparameters, held-out share, seed) meet what a front asked for; every front's
training request goes through it. :func:`train_model` then trains exactly what it
resolved, in whichever process runs the job.
"""

from typing import Any

from mlapi.ml import IrisClassifier
from mlapi.ml.estimators import ProgressCallback, get_estimator
from mlapi.serving.records import TrainingSpec
from mlapi.settings import Settings


def resolve_training(
    settings: Settings,
    *,
    algorithm: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    test_size: float | None = None,
    random_state: int | None = None,
    activate: bool = True,
    created_by: str,
) -> TrainingSpec:
    """Validate what to train against the catalogue, filling in the configured defaults.

    Args:
        settings: Default algorithm, hyperparameters per algorithm, test size and seed.
        algorithm: Algorithm of the catalogue; the configured default if None.
        hyperparameters: Hyperparameters over the configured defaults of the algorithm;
            the catalogue's defaults fill in the rest.
        test_size: Held-out share; the configured one if None.
        random_state: Seed of the split; the configured one if None.
        activate: Whether to activate the new version on success.
        created_by: Who asks.

    Returns:
        What to train, fully resolved.

    Raises:
        InvalidInputError: If the algorithm or a hyperparameter is invalid.
    """
    spec = get_estimator(algorithm or settings.default_algorithm)
    defaults = settings.hyperparameters.get(spec.name, {})
    params = spec.validate({**defaults, **(hyperparameters or {})})
    return TrainingSpec(
        algorithm=spec.name,
        hyperparameters=params.model_dump(mode="json"),
        test_size=settings.test_size if test_size is None else test_size,
        random_state=settings.random_state if random_state is None else random_state,
        activate=activate,
        created_by=created_by,
    )


def train_model(
    settings: Settings, spec: TrainingSpec, progress: ProgressCallback | None = None
) -> IrisClassifier:
    """Train a new classifier on the data set, as resolved. Blocks for the training time.

    Args:
        settings: Where downloads go, and their limits.
        spec: What to train, from :func:`resolve_training`.
        progress: Called with the share of fitting done.

    Returns:
        The trained, unsaved classifier.

    Raises:
        InvalidInputError: If the data cannot be trained on as asked.
    """
    options = settings.classifier_options()
    options.update(test_size=spec.test_size, random_state=spec.random_state)
    classifier = IrisClassifier(**options)
    data = classifier.dataset()
    classifier.train(
        data["X"],
        data["y"],
        algorithm=spec.algorithm,
        feature_names=data["feature_names"],
        class_names=data["class_names"],
        dataset_name="iris",
        progress=progress,
        **spec.hyperparameters,
    )
    return classifier
