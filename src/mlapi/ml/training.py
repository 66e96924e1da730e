"""Fitting an estimator of the catalogue on a held-out split: a pure function of its inputs."""

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from mlapi import __version__
from mlapi.ml import datasets, tabular
from mlapi.ml.errors import InvalidInputError
from mlapi.ml.estimators import EstimatorSpec, ProgressCallback
from mlapi.ml.evaluation import evaluate
from mlapi.ml.examples import first_row
from mlapi.ml.metadata import ModelMetadata
from mlapi.ml.provenance import library_versions


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
    feature_types: list[tabular.FeatureType] | None = None,
    dataset_url: str | None = None,
    dataset_sha256: str | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[Any, ModelMetadata]:
    """Fit an estimator on all but a held-out share of the rows, and score it on those.

    The split is stratified by class where every class has two rows or more. The model
    learns classes 0, 1, ... in the order of the sorted distinct values of ``y``, so its
    predictions are indices into its class names, whatever ``y`` holds. Data that needs
    preprocessing (see :mod:`mlapi.ml.tabular`) gets a pipeline of that and the estimator.

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
        feature_types: The type of each column; all numeric, none missing, if None.
        dataset_url: Where the data set was fetched from, if it was.
        dataset_sha256: SHA-256 of the data set's package file, if there is one.
        progress: Called with the share of fitting done, from 0 to 1; nobody if None.

    Returns:
        The fitted estimator and what is known about it (metrics included).

    Raises:
        InvalidInputError: If a hyperparameter or the data is invalid.
    """
    params = spec.validate(hyperparameters)
    features = _features(X, feature_types)
    values = np.asarray(y)
    if values.ndim != 1 or len(features) != len(values) or len(features) < 2:
        raise InvalidInputError("X must be a 2-D matrix with one row per value of y")
    labels, target = np.unique(values, return_inverse=True)
    feature_names = feature_names or datasets.default_feature_names(features.shape[1])
    class_names = class_names or datasets.default_class_names(labels)
    feature_types = feature_types or ["number"] * features.shape[1]
    if len(feature_names) != features.shape[1] or len(class_names) != len(labels):
        raise InvalidInputError("feature_names and class_names must match the data")
    if len(feature_types) != features.shape[1]:
        raise InvalidInputError("feature_types must match the data")

    classes = np.arange(len(labels))
    counts = np.bincount(target)
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
        untrained = np.isin(classes, y_train, invert=True)
        if untrained.any():
            names = ", ".join(np.asarray(class_names)[untrained].tolist())
            raise ValueError(f"no training rows of class {names} (give each class 2 rows)")
        started = time.perf_counter()
        # Whether values are missing is a property of the data set, not of the split.
        preprocessing = tabular.preprocessing(feature_types, features)
        model = _fit_model(spec, params, preprocessing, X_train, y_train, progress)
        training_seconds = time.perf_counter() - started
    except (ValueError, OverflowError) as error:
        raise InvalidInputError(f"cannot train on this data: {error}") from error
    metadata = ModelMetadata(
        algorithm=spec.name,
        hyperparameters=params.model_dump(),
        feature_names=list(feature_names),
        feature_types=list(feature_types),
        class_names=list(class_names),
        trained_at=datetime.now(UTC),
        training_rows=len(X_train),
        training_seconds=training_seconds,
        dataset_name=dataset_name,
        dataset_checksum=datasets.checksum(features, target),
        dataset_url=dataset_url,
        dataset_sha256=dataset_sha256,
        evaluation=evaluate(y_test, model.predict(X_test), classes, class_names),
        mlapi_version=__version__,
        libraries=library_versions(),
        example_row=first_row(features, feature_types),
    )
    return model, metadata


def _features(X: Any, feature_types: list[tabular.FeatureType] | None) -> np.ndarray:  # noqa: N803
    """Convert features to a matrix: floats unless a column is categorical.

    Without types, every value must be a finite number; with them, NaN marks a missing
    value, which the model's preprocessing fills in.
    """
    categorical = feature_types is not None and any(map(tabular.is_categorical, feature_types))
    try:
        features = np.asarray(X, dtype=object if categorical else np.float64)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"X must hold numbers: {error}") from error
    if features.ndim != 2:
        raise InvalidInputError("X must be a 2-D matrix with one row per value of y")
    if not categorical:
        finite = np.isfinite(features) | (np.isnan(features) if feature_types else False)
        if not finite.all():
            raise InvalidInputError("X must hold only finite numbers")
    return features


def _fit_model(
    spec: EstimatorSpec,
    params: Any,
    preprocessing: Any | None,
    X: np.ndarray,  # noqa: N803
    y: np.ndarray,
    progress: ProgressCallback | None,
) -> Any:
    """Fit the preprocessing the data needs, if any, then the estimator on its output."""
    prepared = X if preprocessing is None else preprocessing.fit_transform(X)
    estimator = spec.fit_estimator(spec.build(params), prepared, y, progress or _ignore_progress)
    if preprocessing is None:
        return estimator
    return Pipeline([("prepare", preprocessing), ("classify", estimator)])


def _ignore_progress(_done: float) -> None:
    pass
