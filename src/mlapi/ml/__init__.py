"""Machine learning: estimators, data sets, evaluation and model files. No web imports.

The bottom layer. It speaks of feature matrices, rows and columns, algorithms and
hyperparameters, never of requests: the notebook and the service call it the same way.

* :mod:`~mlapi.ml.classifier`: the article's :class:`IrisClassifier` (train, predict,
  save, load, download).
* :mod:`~mlapi.ml.estimators`: the catalogue of algorithms, one module each.
* :mod:`~mlapi.ml.datasets`, :mod:`~mlapi.ml.rows`, :mod:`~mlapi.ml.evaluation`: pure
  functions over data (loading Iris, checking rows, scoring a model).
* :mod:`~mlapi.ml.persistence`, :mod:`~mlapi.ml.metadata`: model files and what they say.
* :mod:`~mlapi.ml.errors`: the exceptions every layer above maps to its own words.

A prediction ends here: ``IrisClassifier.validate_rows`` (:mod:`~mlapi.ml.rows`) checks
each row, ``predict_arrays`` asks the estimator once. A training job does its work here:
``IrisClassifier.train`` fits and scores (:mod:`~mlapi.ml.training`), and the model file
is written and read back (:mod:`~mlapi.ml.persistence`).
"""

from mlapi.ml.classifier import IrisClassifier, Prediction
from mlapi.ml.datasets import Dataset
from mlapi.ml.errors import (
    DownloadError,
    FieldError,
    Input,
    InvalidInputError,
    MlapiError,
    ModelFileError,
)
from mlapi.ml.estimators import CATALOGUE, DEFAULT_ALGORITHM, Algorithm
from mlapi.ml.evaluation import Evaluation
from mlapi.ml.metadata import ModelMetadata

__all__ = [
    "CATALOGUE",
    "DEFAULT_ALGORITHM",
    "Algorithm",
    "Dataset",
    "DownloadError",
    "Evaluation",
    "FieldError",
    "Input",
    "InvalidInputError",
    "IrisClassifier",
    "MlapiError",
    "ModelFileError",
    "ModelMetadata",
    "Prediction",
]
