"""Decision tree: the article's default classifier."""

from typing import Literal

from pydantic import Field
from sklearn.tree import DecisionTreeClassifier

from mlapi.ml.estimators import Hyperparameters, estimator


class DecisionTreeHyperparameters(Hyperparameters):
    """Hyperparameters of scikit-learn's ``DecisionTreeClassifier``."""

    criterion: Literal["gini", "entropy", "log_loss"] = "gini"
    max_depth: int | None = Field(default=None, ge=1, le=1000)
    min_samples_split: int = Field(default=2, ge=2, le=1_000_000)
    min_samples_leaf: int = Field(default=1, ge=1, le=1_000_000)
    random_state: int = Field(default=0, ge=0, le=2**32 - 1)


ESTIMATOR = estimator(DecisionTreeClassifier, DecisionTreeHyperparameters, order=0)
