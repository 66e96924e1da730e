"""Class probabilities straight from scikit-learn's compiled tree kernels, checked equal.

scikit-learn's ``predict_proba`` checks its input on every call (types, shape, feature
names, finiteness), whatever the rows: about 280 us for a decision tree and 1.3 ms for
a gradient boosting model here, against 30 us and 250 us for walking the trees of one
row. mlapi has checked the rows already (finite float64 numbers of the right width,
:mod:`mlapi.ml.rows`), so for the estimators below it calls what ``predict_proba``
calls after its checks: the tree's own ``predict_proba(check_input=False)``; for
gradient boosting, the constant start of its prior plus the stages' compiled walk.
The arithmetic is scikit-learn's, so the answers are bit for bit ``predict_proba``'s,
and each model is checked to be so when it loads, on rows at and beside every split
threshold: on any difference, or for any other estimator, it predicts through
``predict_proba``.

Compiled runtimes were measured too (``benchmarks/compiled_runtime.py``): ONNX Runtime
is as quick on one row but answers in float32 and is slower on large batches; treelite
compiles with a C compiler at load. See ``benchmarks/README.md``.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.tree import DecisionTreeClassifier

#: Predicts class probabilities from a checked float64 matrix.
Proba = Callable[[np.ndarray], np.ndarray]

#: Rows drawn at and beside the split thresholds to check a model's kernel against it.
CHECK_ROWS = 512


def _tree(estimator: DecisionTreeClassifier) -> Proba:
    def proba(matrix: np.ndarray) -> np.ndarray:
        probability: np.ndarray = estimator.predict_proba(
            matrix.astype(np.float32), check_input=False
        )
        return probability

    return proba


def _boosting(estimator: GradientBoostingClassifier) -> Proba | None:
    # The prior's raw prediction is the same for every row: computed once.
    if not isinstance(estimator.init_, DummyClassifier) or estimator.init_.strategy != "prior":
        return None
    from sklearn.ensemble._gradient_boosting import predict_stages

    start = estimator._raw_predict_init(np.zeros((1, estimator.n_features_in_), np.float32))
    binary = start.shape[1] == 1

    def proba(matrix: np.ndarray) -> np.ndarray:
        raw = np.repeat(start, len(matrix), axis=0)
        predict_stages(
            estimator.estimators_, matrix.astype(np.float32), estimator.learning_rate, raw
        )
        probability: np.ndarray = estimator._loss.predict_proba(raw.ravel() if binary else raw)
        return probability

    return proba


_KERNELS: dict[type, Callable[[Any], Proba | None]] = {
    DecisionTreeClassifier: _tree,
    GradientBoostingClassifier: _boosting,
}


def _trees(estimator: Any) -> list[Any]:
    if isinstance(estimator, GradientBoostingClassifier):
        return [tree.tree_ for tree in estimator.estimators_.ravel()]
    return [estimator.tree_]


def check_rows(estimator: Any, seed: int = 0) -> np.ndarray:
    """Rows whose values sit on, just below and just above the model's split thresholds.

    Returns:
        :data:`CHECK_ROWS` rows (float64), each value drawn from its feature's thresholds,
        their float32 neighbours and values beyond them.
    """
    width = estimator.n_features_in_
    values: list[list[float]] = [[-1e9, 1e9] for _ in range(width)]
    for tree in _trees(estimator):
        split = tree.feature >= 0
        for feature, threshold in zip(tree.feature[split], tree.threshold[split], strict=True):
            near = np.float32(threshold)
            values[feature] += [
                float(threshold),
                float(np.nextafter(near, np.float32(-np.inf))),
                float(near),
                float(np.nextafter(near, np.float32(np.inf))),
            ]
    generator = np.random.default_rng(seed)
    return np.column_stack([generator.choice(column, size=CHECK_ROWS) for column in values])


def kernel_for(estimator: Any) -> Proba | None:
    """Return a quick ``predict_proba`` for the estimator, if it has one that agrees exactly.

    Returns:
        A function of a checked float64 matrix giving the same probabilities as
        ``estimator.predict_proba``, bit for bit on :func:`check_rows`; None for any
        other estimator, or if they differ.
    """
    build = _KERNELS.get(type(estimator))
    kernel = build(estimator) if build is not None else None
    if kernel is None:
        return None
    rows = check_rows(estimator)
    try:
        same = np.array_equal(kernel(rows), estimator.predict_proba(rows))
    except Exception:  # a kernel that fails is not used
        return None
    return kernel if same else None
