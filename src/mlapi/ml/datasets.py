"""Data sets a classifier trains on: the bundled ones (Iris), and default names for others.

Iris ships inside the package as a Data Package (``mlapi/ml/data/iris/``), read with the
same code as any package fetched from a URL (:mod:`mlapi.ml.datapackage`).
"""

from importlib import resources
from pathlib import Path

import numpy as np

from mlapi.ml.archives import ExtractionLimits, unpacked
from mlapi.ml.datapackage import read_package
from mlapi.ml.tabular import Dataset, FeatureType, checksum

__all__ = [
    "BUNDLED",
    "Dataset",
    "ExtractionLimits",
    "FeatureType",
    "bundled",
    "bundled_path",
    "checksum",
    "default_class_names",
    "default_feature_names",
    "iris",
    "load_package",
]

#: Names of the data sets shipped inside mlapi.
BUNDLED = ("iris",)


def bundled_path(name: str) -> Path:
    """Locate a bundled data package's folder.

    Args:
        name: One of :data:`BUNDLED`.

    Returns:
        The folder holding its ``datapackage.json``.
    """
    return Path(str(resources.files("mlapi.ml").joinpath("data", name)))


def bundled(name: str) -> Dataset:
    """Read a data set shipped inside mlapi.

    Args:
        name: One of :data:`BUNDLED`.

    Returns:
        The data set.
    """
    return read_package(bundled_path(name))


def iris() -> Dataset:
    """Load the Iris data set shipped with mlapi (the same 150 rows as scikit-learn's).

    Returns:
        150 rows of 4 float features (sepal length and width, petal length and width,
        in cm), classes 0, 1 and 2 (setosa, versicolor, virginica).
    """
    return bundled("iris")


def load_package(
    path: Path,
    *,
    limits: ExtractionLimits | None = None,
    max_rows: int = 1_000_000,
    scratch: Path | None = None,
) -> Dataset:
    """Read a data package: an extracted folder, or a ``.zip`` or ``.tar.gz`` file of one.

    An archive is extracted, within the limits, into a fresh temporary folder that is
    removed again whatever happens.

    Args:
        path: The folder or the archive.
        limits: Caps on the archive's members and sizes; the defaults if None.
        max_rows: Most CSV rows accepted.
        scratch: Where the temporary folder goes; the system's temporary folder if None.

    Returns:
        The data set.

    Raises:
        DatasetError: If the archive is unsafe or damaged, or the package is invalid
            (naming the row and field of each bad value).
    """
    if path.is_dir():
        return read_package(path, max_rows=max_rows)
    with unpacked(path, limits or ExtractionLimits(), parent=scratch) as folder:
        return read_package(folder, max_rows=max_rows)


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
