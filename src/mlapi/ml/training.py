"""Fitting an estimator of the catalogue on a held-out split: a pure function of its inputs."""

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from mlapi import __version__
from mlapi.ml import datasets
from mlapi.ml.errors import InvalidInputError
from mlapi.ml.estimators import EstimatorSpec, ProgressCallback
from mlapi.ml.evaluation import evaluate
from mlapi.ml.metadata import ModelMetadata


def fit(
    spec: EstimatorSpec,
    hyperparameters: dict[str, Any],
    X: Any,  # noqa: N803 - the usual name of a feature matrix
    y: Any,
    *,
    test_size: float,
    random_state: int,
    feature_names: list[str] | None,
    class_names: list[str] | None,
    dataset_name: str,
    progress: ProgressCallback | None = None,
) -> tuple[Any, ModelMetadata]:
    """Fit an estimator on all but a held-out share of the rows, and score it on those.

    The split is stratified by class where every class has two rows or more.

    Args:
        spec: The algorithm, from the catalogue.
        hyperparameters: Its hyperparameters; the catalogue's defaults fill in the rest.
        X: Feature matrix, one row per observation.
        y: Class of each row.
        test_size: Share of rows held out for evaluation.
        random_state: Seed of the split.
        feature_names: Name of each column; see :func:`datasets.default_feature_names`
            if None.
        class_names: Name of each class value, in sorted class order; see
            :func:`datasets.default_class_names` if None.
        dataset_name: Name of the data set, recorded with the model.
        progress: Called with the share of fitting done, from 0 to 1; nobody if None.

    Returns:
        The fitted estimator and what is known about it (metrics included).

    Raises:
        InvalidInputError: If a hyperparameter or the data is invalid.
    """
    params = spec.validate(hyperparameters)
    features = np.asarray(X, dtype=np.float64)
    target = np.asarray(y)
    if features.ndim != 2 or len(features) != len(target) or len(features) < 2:
        raise InvalidInputError("X must be a 2-D matrix with one row per value of y")
    if not np.isfinite(features).all():
        raise InvalidInputError("X must hold only finite numbers")
    labels = np.unique(target)
    feature_names = feature_names or datasets.default_feature_names(features.shape[1])
    class_names = class_names or datasets.default_class_names(labels)
    if len(feature_names) != features.shape[1] or len(class_names) != len(labels):
        raise InvalidInputError("feature_names and class_names must match the data")

    counts = np.unique(target, return_counts=True)[1]
    try:
        X_train, X_test, y_train, y_test = train_test_split(  # noqa: N806
            features,
            target,
            test_size=test_size,
            random_state=random_state,
            stratify=target if counts.min() >= 2 else None,
        )
        # Unstratified, the only row of a class may be held out: the estimator would then
        # know fewer classes than the data has, and the metadata would not describe it.
        untrained = np.isin(labels, y_train, invert=True)
        if untrained.any():
            names = ", ".join(np.asarray(class_names)[untrained].tolist())
            raise ValueError(f"no training rows of class {names} (give each class 2 rows)")
        started = time.perf_counter()
        estimator = spec.fit_estimator(
            spec.build(params), X_train, y_train, progress or _ignore_progress
        )
        training_seconds = time.perf_counter() - started
    except (ValueError, OverflowError) as error:
        raise InvalidInputError(f"cannot train on this data: {error}") from error
    metadata = ModelMetadata(
        algorithm=spec.name,
        hyperparameters=params.model_dump(),
        feature_names=list(feature_names),
        class_names=list(class_names),
        trained_at=datetime.now(UTC),
        training_rows=len(X_train),
        training_seconds=training_seconds,
        dataset_name=dataset_name,
        dataset_checksum=datasets.checksum(features, target),
        evaluation=evaluate(y_test, estimator.predict(X_test), labels, class_names),
        mlapi_version=__version__,
    )
    return estimator, metadata


def _ignore_progress(_done: float) -> None:
    pass
