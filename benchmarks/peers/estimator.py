"""The model every peer serves: the estimator inside an mlapi model file, read with skops.

Runs inside the peers' own environments, which have scikit-learn, numpy and skops but
not mlapi. An mlapi model file is a skops archive of ``{"format", "estimator",
"metadata"}``; skops lists the types the file names beyond its own safe defaults, and
those are allowed when they belong to the packages mlapi would ever trust.
"""

import os
from typing import Any

import numpy as np
import skops.io as sio

#: The packages whose types a benchmark model file may hold (mlapi's own list, less itself).
TRUSTABLE_PACKAGES = ("sklearn", "numpy", "scipy")


def load_estimator(path: str | os.PathLike[str]) -> Any:
    """Read the fitted estimator from an mlapi model file.

    Args:
        path: The skops file mlapi wrote.

    Returns:
        The fitted scikit-learn classifier.

    Raises:
        ValueError: If the file names a type outside :data:`TRUSTABLE_PACKAGES` or holds
            no classifier.
    """
    types = sio.get_untrusted_types(file=path)
    never = [name for name in types if name.split(".", 1)[0] not in TRUSTABLE_PACKAGES]
    if never:
        raise ValueError(f"{path}: refusing types {', '.join(sorted(never))}")
    payload = sio.load(path, trusted=types)
    estimator = payload.get("estimator") if isinstance(payload, dict) else None
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(f"{path}: no classifier in the file")
    return estimator


def predict(estimator: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of rows, and the classes they make likeliest.

    Args:
        estimator: A fitted classifier.
        rows: A 2-D array of feature rows.

    Returns:
        The probabilities (one row per input row) and the predicted classes.
    """
    probability = estimator.predict_proba(rows)
    return probability, estimator.classes_[probability.argmax(axis=1)]
