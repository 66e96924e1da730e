"""Histogram-based gradient boosting: much faster than gradient boosting on many rows."""

from pydantic import Field
from sklearn.ensemble import HistGradientBoostingClassifier

from mlapi.ml.estimators import Hyperparameters, estimator


class HistGradientBoostingHyperparameters(Hyperparameters):
    """Hyperparameters of scikit-learn's ``HistGradientBoostingClassifier``."""

    max_iter: int = Field(default=100, ge=1, le=10_000)
    learning_rate: float = Field(default=0.1, gt=0, le=10)
    max_depth: int | None = Field(default=None, ge=1, le=1000)
    max_leaf_nodes: int | None = Field(default=31, ge=2, le=100_000)
    min_samples_leaf: int = Field(default=20, ge=1, le=1_000_000)
    l2_regularization: float = Field(default=0.0, ge=0, le=1_000_000)
    random_state: int = Field(default=0, ge=0, le=2**32 - 1)


ESTIMATOR = estimator(HistGradientBoostingClassifier, HistGradientBoostingHyperparameters, order=2)
