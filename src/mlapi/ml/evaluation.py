"""Held-out evaluation of a fitted classifier: pure functions of their inputs."""

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from mlapi.ml.described import described


@described
@dataclass(frozen=True)
class ClassMetrics:
    """Precision, recall and F1 of one class on the held-out rows."""

    precision: float
    """Share of rows predicted as this class that are this class."""
    recall: float
    """Share of rows of this class predicted as this class."""
    f1: float
    """Harmonic mean of precision and recall."""
    support: int
    """Held-out rows of this class."""


@described
@dataclass(frozen=True)
class Evaluation:
    """How a model did on rows it was not trained on."""

    accuracy: float
    """Share of held-out rows predicted correctly."""
    macro_f1: float
    """Unweighted mean of the per-class F1 scores."""
    per_class: dict[str, ClassMetrics]
    """Metrics of each class, by class name."""
    confusion_matrix: list[list[int]]
    """Counts of true class (rows) against predicted class (columns)."""
    test_rows: int
    """Number of held-out rows."""

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Evaluation":
        """Rebuild an evaluation from :func:`dataclasses.asdict` output.

        Args:
            values: A dictionary as written by :func:`dataclasses.asdict`.

        Returns:
            The evaluation.
        """
        per_class = {name: ClassMetrics(**metrics) for name, metrics in values["per_class"].items()}
        return cls(**{**values, "per_class": per_class})


def evaluate(
    y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray, class_names: list[str]
) -> Evaluation:
    """Score predictions against the truth.

    Args:
        y_true: True class of each held-out row.
        y_pred: Predicted class of each held-out row.
        labels: The class values, in the order of ``class_names``.
        class_names: A name for each class value.

    Returns:
        Accuracy, macro F1, per-class metrics and the confusion matrix.
    """
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return Evaluation(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(np.mean(f1)),
        per_class={
            name: ClassMetrics(float(p), float(r), float(f), int(s))
            for name, p, r, f, s in zip(class_names, precision, recall, f1, support, strict=True)
        },
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        test_rows=len(y_true),
    )
