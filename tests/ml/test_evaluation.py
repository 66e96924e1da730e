"""Held-out evaluation: exact metrics on small known inputs, and their round trip."""

import dataclasses
import json
import warnings

import numpy as np
import pytest

from mlapi.ml import Evaluation
from mlapi.ml.evaluation import ClassMetrics, evaluate

NAMES = ["setosa", "versicolor", "virginica"]
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])


@pytest.fixture
def evaluation() -> Evaluation:
    return evaluate(Y_TRUE, Y_PRED, np.array([0, 1, 2]), NAMES)


def test_evaluate_gives_exact_accuracy_and_row_count(evaluation: Evaluation) -> None:
    assert evaluation.accuracy == pytest.approx(4 / 6)
    assert evaluation.test_rows == 6


def test_evaluate_gives_confusion_matrix_with_true_classes_as_rows(
    evaluation: Evaluation,
) -> None:
    assert evaluation.confusion_matrix == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert all(isinstance(count, int) for row in evaluation.confusion_matrix for count in row)


def test_evaluate_gives_per_class_precision_recall_f1_and_support(
    evaluation: Evaluation,
) -> None:
    assert list(evaluation.per_class) == NAMES
    assert evaluation.per_class["setosa"] == ClassMetrics(0.5, 0.5, 0.5, 2)
    versicolor = evaluation.per_class["versicolor"]
    assert versicolor.precision == pytest.approx(2 / 3)
    assert versicolor.recall == 1.0
    assert versicolor.f1 == pytest.approx(0.8)
    assert versicolor.support == 2
    virginica = evaluation.per_class["virginica"]
    assert (virginica.precision, virginica.recall) == (1.0, 0.5)
    assert virginica.f1 == pytest.approx(2 / 3)


def test_evaluate_macro_f1_is_mean_of_class_f1(evaluation: Evaluation) -> None:
    assert evaluation.macro_f1 == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_evaluate_perfect_predictions_score_one() -> None:
    result = evaluate(Y_TRUE, Y_TRUE, np.array([0, 1, 2]), NAMES)

    assert result.accuracy == 1.0
    assert result.macro_f1 == 1.0
    assert result.confusion_matrix == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]


def test_evaluate_scores_never_predicted_class_zero_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate(np.array([0, 1, 1]), np.array([0, 0, 0]), np.array([0, 1]), ["a", "b"])

    assert result.per_class["b"] == ClassMetrics(0.0, 0.0, 0.0, 2)
    assert result.per_class["a"].precision == pytest.approx(1 / 3)


def test_evaluate_follows_label_order_for_string_classes() -> None:
    result = evaluate(
        np.array(["x", "y", "y"]), np.array(["y", "y", "y"]), np.array(["y", "x"]), ["Y", "X"]
    )

    assert list(result.per_class) == ["Y", "X"]
    assert result.confusion_matrix == [[2, 0], [1, 0]]


def test_evaluate_returns_plain_python_numbers(evaluation: Evaluation) -> None:
    values = dataclasses.asdict(evaluation)

    assert json.loads(json.dumps(values)) == values


def test_evaluation_round_trips_through_asdict(evaluation: Evaluation) -> None:
    rebuilt = Evaluation.from_dict(dataclasses.asdict(evaluation))

    assert rebuilt == evaluation
    assert isinstance(rebuilt.per_class["setosa"], ClassMetrics)
