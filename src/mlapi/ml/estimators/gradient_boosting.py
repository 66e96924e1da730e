"""Gradient boosting: the article's alternative classifier."""

from typing import Any

from pydantic import Field
from sklearn.ensemble import GradientBoostingClassifier

from mlapi.ml.estimators import Hyperparameters, ProgressCallback, estimator


class GradientBoostingHyperparameters(Hyperparameters):
    """Hyperparameters of scikit-learn's ``GradientBoostingClassifier``."""

    n_estimators: int = Field(default=100, ge=1, le=5000)
    learning_rate: float = Field(default=0.1, gt=0, le=10)
    max_depth: int = Field(default=3, ge=1, le=100)
    subsample: float = Field(default=1.0, gt=0, le=1)
    random_state: int = Field(default=0, ge=0, le=2**32 - 1)


def fit_with_progress(
    estimator: GradientBoostingClassifier,
    features: Any,
    y: Any,
    progress: ProgressCallback,
) -> GradientBoostingClassifier:
    """Fit, reporting progress after each boosting stage through the ``monitor`` hook.

    Args:
        estimator: The unfitted classifier.
        features: Training features.
        y: Training classes.
        progress: Called with the share of stages done.

    Returns:
        The fitted classifier.
    """

    def monitor(stage: int, _estimator: Any, _locals: Any) -> bool:
        progress((stage + 1) / estimator.n_estimators)
        return False  # never stop early

    return estimator.fit(features, y, monitor=monitor)


ESTIMATOR = estimator(
    GradientBoostingClassifier, GradientBoostingHyperparameters, order=1, fit=fit_with_progress
)
