"""Machine learning: estimators, data sets, evaluation and model files. No web imports."""

from mlapi.ml.classifier import Dataset, IrisClassifier, ModelMetadata, Prediction
from mlapi.ml.errors import DownloadError, InvalidInputError, MlapiError, ModelFileError
from mlapi.ml.estimators import CATALOGUE, DEFAULT_ALGORITHM, Algorithm
from mlapi.ml.evaluation import Evaluation

__all__ = [
    "CATALOGUE",
    "DEFAULT_ALGORITHM",
    "Algorithm",
    "Dataset",
    "DownloadError",
    "Evaluation",
    "InvalidInputError",
    "IrisClassifier",
    "MlapiError",
    "ModelFileError",
    "ModelMetadata",
    "Prediction",
]
