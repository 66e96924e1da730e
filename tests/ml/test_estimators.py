"""The estimator catalogue: discovery, the default, lookup and hyperparameter validation."""

import pytest
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.tree import DecisionTreeClassifier

from mlapi.ml import (
    CATALOGUE,
    DEFAULT_ALGORITHM,
    Algorithm,
    FieldError,
    Input,
    InvalidInputError,
    IrisClassifier,
)
from mlapi.ml.estimators import GRADIENT_BOOSTING, algorithm_for, get_estimator


def test_catalogue_lists_decision_tree_then_gradient_boosting_then_hist_gradient_boosting() -> None:
    assert list(CATALOGUE) == ["decision_tree", "gradient_boosting", "hist_gradient_boosting"]
    assert DEFAULT_ALGORITHM == "decision_tree"


def test_catalogue_is_sorted_by_order() -> None:
    orders = [spec.order for spec in CATALOGUE.values()]

    assert orders == sorted(orders)


def test_catalogue_keys_are_spec_names() -> None:
    assert all(name == spec.name for name, spec in CATALOGUE.items())


def test_algorithm_enum_values_are_catalogue_names() -> None:
    assert [member.value for member in Algorithm] == list(CATALOGUE)
    assert Algorithm("gradient_boosting") == "gradient_boosting"
    assert Algorithm["DECISION_TREE"].value == "decision_tree"


def test_algorithm_for_the_gradient_boosting_flag_is_gradient_boosting() -> None:
    assert algorithm_for(True) == "gradient_boosting"
    assert GRADIENT_BOOSTING in CATALOGUE


def test_algorithm_for_no_flag_is_none_leaving_the_default_to_the_caller() -> None:
    assert algorithm_for(False) is None


def test_get_estimator_returns_the_catalogue_entry() -> None:
    assert get_estimator("gradient_boosting") is CATALOGUE["gradient_boosting"]


def test_get_estimator_accepts_algorithm_enum_member() -> None:
    assert get_estimator(Algorithm("decision_tree")) is CATALOGUE["decision_tree"]


def test_get_estimator_rejects_unknown_name_listing_the_choices() -> None:
    with pytest.raises(InvalidInputError) as caught:
        get_estimator("nope")

    assert caught.value.errors == [
        FieldError(Input.ALGORITHM, (), f"must be one of {sorted(CATALOGUE)}", "enum")
    ]


def test_decision_tree_validate_fills_defaults() -> None:
    params = get_estimator("decision_tree").validate({"max_depth": 3})

    assert params.model_dump() == {
        "criterion": "gini",
        "max_depth": 3,
        "min_samples_split": 2,
        "min_samples_leaf": 1,
        "random_state": 0,
    }


def test_gradient_boosting_validate_fills_defaults() -> None:
    params = get_estimator("gradient_boosting").validate({})

    assert params.model_dump() == {
        "n_estimators": 100,
        "learning_rate": 0.1,
        "max_depth": 3,
        "subsample": 1.0,
        "random_state": 0,
    }


def test_hist_gradient_boosting_validate_fills_defaults() -> None:
    params = get_estimator("hist_gradient_boosting").validate({"max_iter": 20})

    assert params.model_dump() == {
        "max_iter": 20,
        "learning_rate": 0.1,
        "max_depth": None,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
        "random_state": 0,
    }


@pytest.mark.parametrize(
    ("algorithm", "values", "field"),
    [
        ("decision_tree", {"max_depth": 0}, "max_depth"),
        ("decision_tree", {"criterion": "variance"}, "criterion"),
        ("decision_tree", {"min_samples_split": 1}, "min_samples_split"),
        ("gradient_boosting", {"n_estimators": 5001}, "n_estimators"),
        ("gradient_boosting", {"learning_rate": 0}, "learning_rate"),
        ("gradient_boosting", {"subsample": 1.5}, "subsample"),
        ("gradient_boosting", {"random_state": -1}, "random_state"),
        ("gradient_boosting", {"n_estimators": "many"}, "n_estimators"),
        ("gradient_boosting", {"warm_start": True}, "warm_start"),
        ("hist_gradient_boosting", {"max_iter": 0}, "max_iter"),
        ("hist_gradient_boosting", {"max_leaf_nodes": 1}, "max_leaf_nodes"),
        ("hist_gradient_boosting", {"l2_regularization": -1.0}, "l2_regularization"),
        ("hist_gradient_boosting", {"early_stopping": True}, "early_stopping"),
    ],
)
def test_validate_rejects_bad_hyperparameter_naming_it(
    algorithm: str, values: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        get_estimator(algorithm).validate(values)

    assert [(error.input, error.location) for error in caught.value.errors] == [
        (Input.HYPERPARAMETERS, (field,))
    ]
    assert caught.value.message == f"invalid hyperparameters for {algorithm}"


def test_validate_names_every_bad_hyperparameter() -> None:
    with pytest.raises(InvalidInputError) as caught:
        get_estimator("gradient_boosting").validate({"n_estimators": 0, "max_depth": 0})

    assert {(error.input, error.location) for error in caught.value.errors} == {
        (Input.HYPERPARAMETERS, ("n_estimators",)),
        (Input.HYPERPARAMETERS, ("max_depth",)),
    }


def test_build_makes_unfitted_estimator_with_the_hyperparameters() -> None:
    tree_spec = get_estimator("decision_tree")
    boosting_spec = get_estimator("gradient_boosting")
    hist_spec = get_estimator("hist_gradient_boosting")

    tree = tree_spec.build(tree_spec.validate({"max_depth": 4, "criterion": "entropy"}))
    boosting = boosting_spec.build(boosting_spec.validate({"n_estimators": 9}))
    hist = hist_spec.build(hist_spec.validate({"max_iter": 7, "l2_regularization": 0.5}))

    assert isinstance(tree, DecisionTreeClassifier)
    assert (tree.max_depth, tree.criterion) == (4, "entropy")
    assert isinstance(boosting, GradientBoostingClassifier)
    assert (boosting.n_estimators, boosting.learning_rate) == (9, 0.1)
    assert isinstance(hist, HistGradientBoostingClassifier)
    assert (hist.max_iter, hist.l2_regularization, hist.max_leaf_nodes) == (7, 0.5, 31)
    assert not hasattr(tree, "classes_")
    assert not hasattr(hist, "classes_")


def test_fit_estimator_of_a_plain_estimator_reports_done_once_fitted() -> None:
    spec = get_estimator("decision_tree")
    iris = IrisClassifier.dataset()
    reported: list[float] = []

    fitted = spec.fit_estimator(
        spec.build(spec.validate({})), iris["X"], iris["y"], reported.append
    )

    assert reported == [1.0]
    assert hasattr(fitted, "classes_")


def test_gradient_boosting_reports_progress_after_each_stage() -> None:
    spec = get_estimator("gradient_boosting")
    iris = IrisClassifier.dataset()
    reported: list[float] = []

    fitted = spec.fit_estimator(
        spec.build(spec.validate({"n_estimators": 5})), iris["X"], iris["y"], reported.append
    )

    assert reported == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert fitted.n_estimators_ == 5  # the monitor never stops the fit early
