"""scikit-learn's compiled kernels, called without its checks: the same answers, or not used."""

from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

from mlapi.ml import CATALOGUE, IrisClassifier, kernels

#: Algorithms served through scikit-learn's kernels; the others through predict_proba.
WITH_KERNEL = {"decision_tree", "gradient_boosting"}


def _held_out() -> tuple[Any, Any, Any, Any]:
    data = IrisClassifier.dataset()
    return train_test_split(data["X"], data["y"], test_size=0.3, random_state=1, stratify=data["y"])


@pytest.mark.parametrize("algorithm", sorted(CATALOGUE))
def test_each_algorithm_answers_held_out_rows_exactly_as_scikit_learn(algorithm: str) -> None:
    train_x, test_x, train_y, _ = _held_out()
    classifier = IrisClassifier()
    options = {"n_estimators": 40} if algorithm == "gradient_boosting" else {}
    classifier.train(train_x, train_y, algorithm=algorithm, **options)
    loaded = IrisClassifier.from_bytes(
        classifier.to_bytes(), trusted_types=classifier.trusted_types
    )

    for model in (classifier, loaded):
        assert (model._kernel is not None) == (algorithm in WITH_KERNEL)
        checks = [np.asarray(test_x, dtype=np.float64)]
        if algorithm in WITH_KERNEL:
            checks.append(kernels.check_rows(model.estimator))
        for rows in checks:
            probability, prediction = model.predict_arrays(rows)
            expected = model.estimator.predict_proba(rows)
            assert np.abs(probability - expected).max(initial=0) <= 1e-6
            assert np.array_equal(probability, expected)  # in fact bit for bit
            assert np.array_equal(prediction, model.estimator.predict(rows))


def test_rows_beside_the_thresholds_are_where_a_float32_rounding_would_show() -> None:
    classifier = IrisClassifier.load()
    rows = kernels.check_rows(classifier.estimator)
    thresholds = classifier.estimator.tree_.threshold[classifier.estimator.tree_.feature >= 0]

    assert rows.shape == (kernels.CHECK_ROWS, 4)
    assert np.isin(thresholds, rows).any()  # values exactly on a split are drawn


def test_a_kernel_that_disagrees_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def off_by_a_little(estimator: Any) -> kernels.Proba:
        return lambda rows: estimator.predict_proba(rows) + 1e-12

    tree = IrisClassifier.load().estimator
    monkeypatch.setitem(kernels._KERNELS, type(tree), off_by_a_little)

    assert kernels.kernel_for(tree) is None


def test_a_kernel_that_fails_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(estimator: Any) -> kernels.Proba:
        def proba(rows: np.ndarray) -> np.ndarray:
            raise ValueError("no")

        return proba

    tree = IrisClassifier.load().estimator
    monkeypatch.setitem(kernels._KERNELS, type(tree), broken)

    assert kernels.kernel_for(tree) is None


def test_boosting_of_two_classes_has_a_kernel_and_another_start_has_none() -> None:
    data = IrisClassifier.dataset()
    two = data["y"] > 0
    x, y = data["X"][two], data["y"][two]
    binary = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(x, y)
    zero_start = GradientBoostingClassifier(n_estimators=20, init="zero", random_state=0).fit(x, y)

    kernel = kernels.kernel_for(binary)
    assert kernel is not None
    assert np.array_equal(kernel(np.asarray(x, dtype=np.float64)), binary.predict_proba(x))
    assert kernels.kernel_for(zero_start) is None
