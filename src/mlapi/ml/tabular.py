"""Tabular data as mlapi trains on it, and the preprocessing saved inside each model.

A :class:`Dataset` is a feature matrix with named, typed columns and classes as indices
into named classes. Its columns are ``number`` or ``integer`` (numeric) or ``string``
(categorical). The policy for what is missing, applied by :func:`preprocessing` inside
the saved model, so that a served model takes the raw values of its data set:

* a numeric column's missing values become the column's median on the training rows;
* a categorical column's missing values become a category of their own, and each column
  is one-hot encoded, keeping its :data:`MAX_CATEGORIES` most frequent values (the
  others, and values never seen in training, share one "infrequent" column).

A data set with no categorical column and nothing missing gets no preprocessing at all:
its model is the bare estimator, as the article's Iris model is.

Pure functions of their inputs.
"""

import hashlib
from typing import Any, Literal, TypedDict

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

#: The type of a feature column, in Table Schema's words.
FeatureType = Literal["number", "integer", "string"]

#: Most one-hot columns per categorical feature.
MAX_CATEGORIES = 100

#: What a missing categorical value becomes before encoding.
MISSING_CATEGORY = "(missing)"


class Dataset(TypedDict):
    """A tabular classification data set.

    ``X`` has one row per observation: float64, NaN where missing, or objects (str,
    numbers, NaN) when a column is categorical. ``y`` holds each row's class as an index
    into ``class_names``. ``checksum`` fingerprints the content (see :func:`checksum`).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    feature_types: list[FeatureType]
    class_names: list[str]
    checksum: str


def checksum(features: np.ndarray, target: np.ndarray) -> str:
    """Fingerprint a data set, so that models trained on the same data can be told apart.

    Args:
        features: The feature matrix, numeric or with text columns.
        target: The class of each row.

    Returns:
        The SHA-256, in hexadecimal, of the features (as float64 when numeric, else as
        text) and the classes as text.
    """
    if features.dtype == object:
        digest = hashlib.sha256(np.asarray(features).astype(str).astype("U").tobytes())
    else:
        digest = hashlib.sha256(np.ascontiguousarray(features, dtype=np.float64).tobytes())
    digest.update(np.asarray(target).astype(str).astype("U").tobytes())
    return digest.hexdigest()


def is_categorical(feature_type: str) -> bool:
    """Say whether a column of this type is categorical (one-hot encoded)."""
    return feature_type == "string"


def preprocessing(feature_types: list[FeatureType], features: np.ndarray) -> Any | None:
    """Build the unfitted preprocessing a data set needs, as the module's policy says.

    Args:
        feature_types: The type of each column.
        features: The training features, to see whether anything is missing.

    Returns:
        A scikit-learn ``ColumnTransformer`` giving a dense float matrix, or None when
        every column is numeric and nothing is missing.
    """
    categorical = [i for i, kind in enumerate(feature_types) if is_categorical(kind)]
    numeric = [i for i, kind in enumerate(feature_types) if not is_categorical(kind)]
    if not categorical and not missing(features).any():
        return None
    transformers: list[tuple[str, Any, list[int]]] = []
    if numeric:
        transformers.append(("numbers", SimpleImputer(strategy="median"), numeric))
    if categorical:
        encode = make_pipeline(
            SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
            OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=MAX_CATEGORIES,
                sparse_output=False,
            ),
        )
        transformers.append(("categories", encode, categorical))
    return ColumnTransformer(transformers, sparse_threshold=0)


def missing(features: np.ndarray) -> np.ndarray:
    """Mark each missing value (NaN) of a feature matrix, numeric or with text columns.

    Returns:
        A boolean matrix of the same shape, True where a value is missing.
    """
    if features.dtype == object:
        return np.asarray(features != features, dtype=bool)  # NaN alone is not itself
    return np.asarray(np.isnan(features), dtype=bool)


def takes_raw_values(model: Any) -> bool:
    """Say whether a fitted model preprocesses its input (text columns, missing values).

    Args:
        model: A model as :func:`mlapi.ml.training.fit` returns it.

    Returns:
        True for a pipeline of preprocessing and estimator; False for a bare estimator,
        which takes finite numbers only.
    """
    return isinstance(model, Pipeline)
