"""What a training trains, as configured: defaults resolved once, then the fit itself.

:func:`resolve_training` is the one place where the configured defaults (algorithm,
hyperparameters, held-out share, seed) meet what a front asked for; every front's
training request goes through it. :func:`train_model` then trains exactly what it
resolved, in whichever process runs the job.
"""

from mlapi.ml import IrisClassifier
from mlapi.ml.estimators import CATALOGUE, ProgressCallback, get_estimator
from mlapi.serving.datasets import Datasets
from mlapi.serving.records import AlgorithmEntry, TrainingOrder, TrainingSpec
from mlapi.settings import Settings


def resolve_training(settings: Settings, order: TrainingOrder, created_by: str) -> TrainingSpec:
    """Validate what to train against the catalogue, filling in the configured defaults.

    Args:
        settings: Default algorithm, hyperparameters per algorithm, test size, seed and
            data set, and which data set URLs are allowed.
        order: What was asked; the catalogue's defaults fill in the hyperparameters that
            neither it nor the configuration gives.
        created_by: Who asks.

    Returns:
        What to train, fully resolved.

    Raises:
        InvalidInputError: If the algorithm or a hyperparameter is invalid, or the data
            set is unknown or its URL not allowed.
    """
    dataset = Datasets(settings).resolve(order.dataset)
    spec = get_estimator(order.algorithm or settings.default_algorithm)
    defaults = settings.hyperparameters.get(spec.name, {})
    params = spec.validate({**defaults, **order.hyperparameters})
    return TrainingSpec(
        algorithm=spec.name,
        hyperparameters=params.model_dump(mode="json"),
        test_size=settings.test_size if order.test_size is None else order.test_size,
        random_state=settings.random_state if order.random_state is None else order.random_state,
        activate=order.activate,
        created_by=created_by,
        dataset=dataset,
    )


def algorithms(settings: Settings) -> list[AlgorithmEntry]:
    """Describe every algorithm of the catalogue with the defaults this server trains with.

    Args:
        settings: The default algorithm and the configured hyperparameters per algorithm.

    Returns:
        The catalogue's algorithms in its order, each with the JSON Schema of its
        hyperparameters and the values a request that gives none gets.
    """
    return [
        AlgorithmEntry(
            name=spec.name,
            title=spec.title,
            default=spec.name == settings.default_algorithm,
            hyperparameters=spec.hyperparameters.model_json_schema(),
            defaults=spec.validate(settings.hyperparameters.get(spec.name, {})).model_dump(
                mode="json"
            ),
        )
        for spec in CATALOGUE.values()
    ]


def train_model(
    settings: Settings, spec: TrainingSpec, progress: ProgressCallback | None = None
) -> IrisClassifier:
    """Train a new classifier on the data set, as resolved. Blocks for the training time.

    The data set is fetched and read first (see :class:`~mlapi.serving.datasets.Datasets`).

    Args:
        settings: Where downloads go, and their limits.
        spec: What to train, from :func:`resolve_training`.
        progress: Called with the share of fitting done.

    Returns:
        The trained, unsaved classifier.

    Raises:
        InvalidInputError: If the data cannot be trained on as asked.
        DownloadError: If the data set's package cannot be downloaded.
        DatasetError: If the package is unsafe or invalid.
    """
    options = settings.classifier_options()
    options.update(test_size=spec.test_size, random_state=spec.random_state)
    classifier = IrisClassifier(**options)
    data, origin = Datasets(settings).load(spec.dataset)
    classifier.train(
        data["X"],
        data["y"],
        algorithm=spec.algorithm,
        feature_names=data["feature_names"],
        feature_types=data["feature_types"],
        class_names=data["class_names"],
        dataset_name=data["name"],
        dataset_url=origin.url,
        dataset_sha256=origin.sha256,
        progress=progress,
        **spec.hyperparameters,
    )
    return classifier
