"""Data sets a classifier trains on: Iris, and naming and fingerprinting any other.

Pure functions of their inputs: Iris is scikit-learn's own copy, and nothing here writes.
"""

import hashlib
from typing import TypedDict

import numpy as np
from sklearn.datasets import load_iris


class Dataset(TypedDict):
    """A tabular classification data set, as :meth:`IrisClassifier.dataset` returns it.

    ``X`` is the float feature matrix (one row per observation), ``y`` the class of
    each row; the names are those of the columns and of the classes, in order.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    class_names: list[str]


def iris() -> Dataset:
    """Load the Iris data set shipped with scikit-learn.

    Returns:
        150 rows of 4 float features (sepal length and width, petal length and width,
        in cm), classes 0, 1 and 2, and their names.
    """
    data = load_iris()
    return Dataset(
        X=data.data,
        y=data.target,
        feature_names=list(data.feature_names),
        class_names=[str(name) for name in data.target_names],
    )


def checksum(features: np.ndarray, target: np.ndarray) -> str:
    """Fingerprint a data set, so that models trained on the same data can be told apart.

    Args:
        features: The feature matrix.
        target: The class of each row.

    Returns:
        The SHA-256, in hexadecimal, of the features as float64 and the classes as text.
    """
    digest = hashlib.sha256(np.ascontiguousarray(features, dtype=np.float64).tobytes())
    digest.update(np.asarray(target).astype(str).astype("U").tobytes())
    return digest.hexdigest()


def default_feature_names(width: int) -> list[str]:
    """Name the columns of data whose caller named none.

    Args:
        width: Number of columns.

    Returns:
        The Iris names for 4 columns, else ``feature_0``, ``feature_1``, ...
    """
    return iris()["feature_names"] if width == 4 else [f"feature_{i}" for i in range(width)]


def default_class_names(labels: np.ndarray) -> list[str]:
    """Name the classes of data whose caller named none.

    Args:
        labels: The distinct class values, sorted.

    Returns:
        The Iris names for classes 0, 1, 2, else each value as text.
    """
    if labels.tolist() == [0, 1, 2]:
        return iris()["class_names"]
    return [str(label) for label in labels.tolist()]
