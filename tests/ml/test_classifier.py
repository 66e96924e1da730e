"""IrisClassifier: the data set, training, validation of rows, prediction and model files."""

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.tree import DecisionTreeClassifier

from mlapi.ml import (
    Evaluation,
    FieldError,
    Input,
    InvalidInputError,
    IrisClassifier,
    ModelFileError,
    datasets,
    persistence,
)

SETOSA_ROW = [5.1, 3.5, 1.4, 0.2]
CLASS_NAMES = ["setosa", "versicolor", "virginica"]


@pytest.fixture(scope="module")
def iris() -> dict[str, Any]:
    return dict(IrisClassifier.dataset())


@pytest.fixture(scope="module")
def tree(iris: dict[str, Any]) -> IrisClassifier:
    """A decision tree trained once for the tests that only read it."""
    classifier = IrisClassifier()
    classifier.train(iris["X"], iris["y"])
    return classifier


def _trained(iris: dict[str, Any], **options: Any) -> IrisClassifier:
    classifier = IrisClassifier()
    classifier.train(iris["X"], iris["y"], **options)
    return classifier


def _locations(error: InvalidInputError) -> list[tuple[Input, tuple[str | int, ...]]]:
    return [(field.input, field.location) for field in error.errors]


class _Counting:
    """Wraps a bound method and counts its calls."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self.method = method
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.method(*args, **kwargs)


# The data set


def test_dataset_is_the_iris_data_set(iris: dict[str, Any]) -> None:
    expected = datasets.iris()

    assert iris["X"].tolist() == expected["X"].tolist()
    assert iris["y"].tolist() == expected["y"].tolist()
    assert iris["feature_names"] == expected["feature_names"]
    assert iris["class_names"] == CLASS_NAMES


# Training


def test_train_defaults_to_decision_tree(tree: IrisClassifier) -> None:
    assert isinstance(tree.estimator, DecisionTreeClassifier)
    assert tree.metadata is not None
    assert tree.metadata.algorithm == "decision_tree"


def test_train_with_gradient_boosting_flag_trains_gradient_boosting(
    iris: dict[str, Any],
) -> None:
    classifier = _trained(iris, gradient_boosting=True, n_estimators=10)

    assert isinstance(classifier.estimator, GradientBoostingClassifier)
    assert classifier.metadata is not None
    assert classifier.metadata.algorithm == "gradient_boosting"


def test_train_algorithm_argument_overrides_gradient_boosting_flag(iris: dict[str, Any]) -> None:
    classifier = IrisClassifier()

    classifier.train(iris["X"], iris["y"], True, algorithm="decision_tree")

    assert isinstance(classifier.estimator, DecisionTreeClassifier)


@pytest.mark.parametrize(
    ("algorithm", "options"),
    [
        ("decision_tree", {}),
        ("gradient_boosting", {"n_estimators": 20}),
        ("hist_gradient_boosting", {"max_iter": 20}),
    ],
)
def test_train_returns_accurate_evaluation_on_30_held_out_rows(
    iris: dict[str, Any], algorithm: str, options: dict[str, Any]
) -> None:
    classifier = IrisClassifier()

    evaluation = classifier.train(iris["X"], iris["y"], algorithm=algorithm, **options)

    assert isinstance(evaluation, Evaluation)
    assert evaluation.accuracy > 0.85
    assert evaluation.test_rows == 30
    assert sum(map(sum, evaluation.confusion_matrix)) == 30
    assert list(evaluation.per_class) == CLASS_NAMES
    assert classifier.evaluation == evaluation
    assert classifier.metadata is not None
    assert classifier.metadata.training_rows == 120


def test_train_holds_out_the_configured_share(iris: dict[str, Any]) -> None:
    classifier = IrisClassifier(test_size=0.5)

    evaluation = classifier.train(iris["X"], iris["y"])

    assert evaluation.test_rows == 75


def test_train_leaves_model_without_checksum_until_saved(tree: IrisClassifier) -> None:
    assert tree.checksum is None
    assert tree.version is None


def test_train_records_validated_hyperparameters_with_defaults(iris: dict[str, Any]) -> None:
    classifier = _trained(iris, max_depth=2)

    assert classifier.metadata is not None
    assert classifier.metadata.hyperparameters == {
        "criterion": "gini",
        "max_depth": 2,
        "min_samples_split": 2,
        "min_samples_leaf": 1,
        "random_state": 0,
    }
    assert classifier.estimator.get_depth() <= 2


def test_train_rejects_unknown_hyperparameter_naming_it(iris: dict[str, Any]) -> None:
    classifier = IrisClassifier()

    with pytest.raises(InvalidInputError) as caught:
        classifier.train(iris["X"], iris["y"], bogus=1)

    assert _locations(caught.value) == [(Input.HYPERPARAMETERS, ("bogus",))]
    assert classifier.estimator is None


def test_train_rejects_out_of_range_hyperparameter_naming_it(iris: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        IrisClassifier().train(iris["X"], iris["y"], gradient_boosting=True, n_estimators=0)

    assert _locations(caught.value) == [(Input.HYPERPARAMETERS, ("n_estimators",))]
    assert "n_estimators" in str(caught.value)


def test_train_hist_gradient_boosting_runs_the_asked_iterations(iris: dict[str, Any]) -> None:
    classifier = _trained(iris, algorithm="hist_gradient_boosting", max_iter=20)

    assert isinstance(classifier.estimator, HistGradientBoostingClassifier)
    assert classifier.estimator.n_iter_ == 20
    assert classifier.metadata is not None
    assert classifier.metadata.algorithm == "hist_gradient_boosting"
    assert classifier.metadata.hyperparameters["max_iter"] == 20


def test_train_rejects_bad_hist_gradient_boosting_hyperparameter_naming_it(
    iris: dict[str, Any],
) -> None:
    classifier = IrisClassifier()

    with pytest.raises(InvalidInputError) as caught:
        classifier.train(iris["X"], iris["y"], algorithm="hist_gradient_boosting", max_iter=0)

    assert _locations(caught.value) == [(Input.HYPERPARAMETERS, ("max_iter",))]
    assert classifier.estimator is None


def test_train_rejects_unknown_algorithm(iris: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError) as caught:
        IrisClassifier().train(iris["X"], iris["y"], algorithm="svm")

    assert _locations(caught.value) == [(Input.ALGORITHM, ())]


def test_train_rejects_x_and_y_of_different_lengths(iris: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="one row per value of y"):
        IrisClassifier().train(iris["X"], iris["y"][:-1])


def test_train_rejects_feature_names_of_wrong_length(iris: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="feature_names and class_names"):
        IrisClassifier().train(iris["X"], iris["y"], feature_names=["a", "b"])


def test_train_on_text_classes_predicts_class_indices_named_by_labels(
    iris: dict[str, Any],
) -> None:
    classifier = IrisClassifier()
    letters = np.array(["a", "b", "c"])[iris["y"]]

    classifier.train(iris["X"][:, 2:], letters)

    assert classifier.n_features == 2
    assert classifier.metadata is not None
    assert classifier.metadata.feature_names == ["feature_0", "feature_1"]
    assert classifier.metadata.class_names == ["a", "b", "c"]
    prediction = classifier.predict([[1.4, 0.2]])["prediction"]
    assert prediction == [0]
    assert classifier.labels(prediction) == ["a"]


# Prediction


def test_predict_returns_argmax_of_probability(tree: IrisClassifier, iris: dict[str, Any]) -> None:
    rows = iris["X"][::10].tolist()

    result = tree.predict(rows)

    assert set(result) == {"prediction", "probability"}
    assert len(result["prediction"]) == len(rows)
    assert result["prediction"] == [int(np.argmax(p)) for p in result["probability"]]
    assert all(math.isclose(sum(p), 1.0) for p in result["probability"])
    assert all(isinstance(value, int) for value in result["prediction"])


@pytest.mark.parametrize(
    ("algorithm", "options"),
    [
        ("decision_tree", {}),
        ("gradient_boosting", {"n_estimators": 5}),
        ("hist_gradient_boosting", {"max_iter": 5}),
    ],
)
def test_predict_computes_probabilities_once_and_never_calls_predict(
    iris: dict[str, Any], algorithm: str, options: dict[str, Any]
) -> None:
    classifier = _trained(iris, algorithm=algorithm, **options)
    predict_proba = _Counting(classifier.estimator.predict_proba)
    predict = _Counting(classifier.estimator.predict)
    classifier.estimator.predict_proba = predict_proba
    classifier.estimator.predict = predict
    # Where scikit-learn's kernel answers for predict_proba (mlapi.ml.kernels), it is the one.
    kernel = _Counting(classifier._kernel) if classifier._kernel else None
    classifier._kernel = kernel

    result = classifier.predict(iris["X"][:7].tolist())

    assert (kernel or predict_proba).calls == 1
    assert predict.calls == 0
    assert len(result["prediction"]) == 7


def test_predict_accepts_numpy_matrix(tree: IrisClassifier) -> None:
    assert tree.predict(np.array([SETOSA_ROW]))["prediction"] == [0]


def test_predict_accepts_tuple_rows(tree: IrisClassifier) -> None:
    assert tree.predict([tuple(SETOSA_ROW)])["prediction"] == [0]


def test_predict_rejects_row_of_wrong_width_naming_it(tree: IrisClassifier) -> None:
    with pytest.raises(InvalidInputError) as caught:
        tree.predict([SETOSA_ROW, [1.0, 2.0, 3.0], SETOSA_ROW, [*SETOSA_ROW, 1.0]])

    assert caught.value.errors == [
        FieldError(Input.ROWS, (1,), "must have exactly 4 values", "wrong_width"),
        FieldError(Input.ROWS, (3,), "must have exactly 4 values", "wrong_width"),
    ]


def test_predict_rejects_row_that_is_not_a_list(tree: IrisClassifier) -> None:
    with pytest.raises(InvalidInputError) as caught:
        tree.predict([SETOSA_ROW, 5.0])

    assert _locations(caught.value) == [(Input.ROWS, (1,))]


def test_predict_rejects_row_with_nan_naming_the_cell(tree: IrisClassifier) -> None:
    with pytest.raises(InvalidInputError) as caught:
        tree.predict([[5.1, 3.5, float("nan"), 0.2]])

    assert caught.value.errors == [
        FieldError(Input.ROWS, (0, 2), "must be a finite number", "finite"),
    ]


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_predict_rejects_row_with_infinity_naming_the_cell(
    tree: IrisClassifier, value: float
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        tree.predict([SETOSA_ROW, [value, 3.5, 1.4, 0.2]])

    assert _locations(caught.value) == [(Input.ROWS, (1, 0))]


def test_predict_rejects_empty_list(tree: IrisClassifier) -> None:
    with pytest.raises(InvalidInputError) as caught:
        tree.predict([])

    assert caught.value.errors == [FieldError(Input.ROWS, (), "must not be empty", "empty")]


def test_predict_rejects_text_values_naming_the_cell(tree: IrisClassifier) -> None:
    with pytest.raises(InvalidInputError) as caught:
        tree.predict([[5.1, 3.5, "wide", 0.2]])

    assert caught.value.errors == [
        FieldError(Input.ROWS, (0, 2), "must be a finite number", "type")
    ]


def test_predict_rejects_matrix_of_wrong_shape(tree: IrisClassifier) -> None:
    with pytest.raises(InvalidInputError, match="matrix with 4 columns"):
        tree.predict(np.zeros((2, 3)))


def test_predict_lists_at_most_20_bad_cells_and_counts_the_rest(tree: IrisClassifier) -> None:
    rows = [[float("nan")] * 4 for _ in range(6)]  # 24 bad cells

    with pytest.raises(InvalidInputError) as caught:
        tree.predict(rows)

    errors = caught.value.errors
    assert len(errors) == 21
    assert (errors[0].input, errors[0].location) == (Input.ROWS, (0, 0))
    assert (errors[19].input, errors[19].location) == (Input.ROWS, (4, 3))
    assert errors[20] == FieldError(Input.ROWS, (), "and 4 more", "truncated")


def test_predict_on_untrained_classifier_raises_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="not trained"):
        IrisClassifier().predict([SETOSA_ROW])


def test_evaluation_of_untrained_classifier_raises_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="not trained"):
        _ = IrisClassifier().evaluation


def test_save_of_untrained_classifier_raises_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        IrisClassifier().save(tmp_path / "model.skops")

    assert not (tmp_path / "model.skops").exists()


def test_labels_name_predicted_classes(tree: IrisClassifier) -> None:
    assert tree.labels([0, 2, 1, 0]) == ["setosa", "virginica", "versicolor", "setosa"]


# Model files


@pytest.mark.parametrize(
    ("algorithm", "options"), [("decision_tree", {}), ("gradient_boosting", {"n_estimators": 10})]
)
def test_save_then_load_gives_identical_probabilities(
    iris: dict[str, Any], tmp_path: Path, algorithm: str, options: dict[str, Any]
) -> None:
    original = _trained(iris, algorithm=algorithm, **options)
    path = tmp_path / "models" / "model.skops"

    checksum = original.save(path)
    loaded = IrisClassifier.load(path)

    assert checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert original.checksum == checksum
    assert loaded.checksum == checksum
    assert loaded.version == checksum[:12]
    assert loaded.metadata == original.metadata
    assert type(loaded.estimator) is type(original.estimator)
    assert loaded.predict(iris["X"].tolist()) == original.predict(iris["X"].tolist())


def test_load_passes_constructor_options(tree: IrisClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    tree.save(path)

    loaded = IrisClassifier.load(path, cache_dir=tmp_path / "cache", test_size=0.3)

    assert loaded.cache_dir == tmp_path / "cache"
    assert loaded.test_size == 0.3


def test_bundled_model_predicts_setosa_with_certainty() -> None:
    classifier = IrisClassifier.load()

    assert classifier.predict([SETOSA_ROW]) == {"prediction": [0], "probability": [[1.0, 0.0, 0.0]]}
    assert classifier.labels([0]) == ["setosa"]
    assert classifier.n_features == 4
    assert classifier.version is not None
    assert len(classifier.version) == 12


def test_load_of_missing_file_raises_model_file_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="cannot read model file"):
        IrisClassifier.load(tmp_path / "absent.skops")


def test_load_of_garbage_file_raises_model_file_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.skops"
    path.write_bytes(b"not a zip archive")

    with pytest.raises(ModelFileError):
        IrisClassifier.load(path)


def test_load_refuses_metadata_naming_wrong_number_of_classes(
    tree: IrisClassifier, tmp_path: Path
) -> None:
    assert tree.metadata is not None
    metadata = tree.metadata.to_dict()
    metadata["class_names"] = ["only", "two"]
    path = tmp_path / "model.skops"
    path.write_bytes(persistence.dumps(tree.estimator, metadata))

    with pytest.raises(ModelFileError, match="classes"):
        IrisClassifier.load(path)


def test_load_refuses_metadata_missing_a_field(tree: IrisClassifier, tmp_path: Path) -> None:
    assert tree.metadata is not None
    metadata = tree.metadata.to_dict()
    del metadata["trained_at"]
    path = tmp_path / "model.skops"
    path.write_bytes(persistence.dumps(tree.estimator, metadata))

    with pytest.raises(ModelFileError, match="malformed metadata"):
        IrisClassifier.load(path)


# Model files that pass the type allow-list but hold a malformed or inconsistent model
# are refused as ModelFileError too, never let through as another exception.


def _file_with(tmp_path: Path, estimator: Any, metadata: dict[str, Any]) -> Path:
    path = tmp_path / "model.skops"
    path.write_bytes(persistence.dumps(estimator, metadata))
    return path


def test_load_refuses_unfitted_estimator(tree: IrisClassifier, tmp_path: Path) -> None:
    assert tree.metadata is not None
    path = _file_with(tmp_path, DecisionTreeClassifier(), tree.metadata.to_dict())

    with pytest.raises(ModelFileError):
        IrisClassifier.load(path)


def test_load_refuses_evaluation_with_malformed_per_class(
    tree: IrisClassifier, tmp_path: Path
) -> None:
    assert tree.metadata is not None
    metadata = tree.metadata.to_dict()
    metadata["evaluation"]["per_class"] = []

    with pytest.raises(ModelFileError):
        IrisClassifier.load(_file_with(tmp_path, tree.estimator, metadata))


def test_load_refuses_metadata_naming_wrong_number_of_features(
    tree: IrisClassifier, tmp_path: Path
) -> None:
    assert tree.metadata is not None
    metadata = tree.metadata.to_dict()
    metadata["feature_names"] = ["sepal", "petal"]

    with pytest.raises(ModelFileError):
        IrisClassifier.load(_file_with(tmp_path, tree.estimator, metadata))


def test_predict_accepts_a_list_of_numpy_rows() -> None:
    classifier = IrisClassifier.load()
    rows = list(IrisClassifier.dataset()["X"][:2])
    assert classifier.predict(rows)["prediction"] == [0, 0]


def test_train_refuses_nan_in_features() -> None:
    data = IrisClassifier.dataset()
    features = data["X"].copy()
    features[3, 1] = np.nan
    with pytest.raises(InvalidInputError, match="finite"):
        IrisClassifier().train(features, data["y"], gradient_boosting=True, n_estimators=2)


def test_train_refuses_data_too_small_to_hold_out_every_class() -> None:
    data = IrisClassifier.dataset()
    with pytest.raises(InvalidInputError, match="cannot train"):
        IrisClassifier().train(
            data["X"][[0, 1, 50, 51, 100, 101]], data["y"][[0, 1, 50, 51, 100, 101]]
        )


def test_train_refuses_a_class_whose_only_row_is_held_out(iris: dict[str, Any]) -> None:
    rows = [*range(100), 100]  # a single virginica, which the split of seed 1 holds out
    classifier = IrisClassifier(random_state=1)

    with pytest.raises(InvalidInputError, match="no training rows of class virginica"):
        classifier.train(iris["X"][rows], iris["y"][rows])

    assert classifier.estimator is None


def test_train_refuses_a_single_class_for_gradient_boosting() -> None:
    data = IrisClassifier.dataset()
    with pytest.raises(InvalidInputError, match="cannot train"):
        IrisClassifier().train(data["X"][:50], data["y"][:50], gradient_boosting=True)


# Provenance, progress and bytes


def test_train_records_dataset_name_checksum_and_training_time(iris: dict[str, Any]) -> None:
    classifier = IrisClassifier()

    classifier.train(iris["X"], iris["y"], dataset_name="iris-copy")

    metadata = classifier.metadata
    assert metadata is not None
    assert metadata.dataset_name == "iris-copy"
    assert metadata.training_seconds > 0
    assert len(metadata.dataset_checksum) == 64
    assert metadata.dataset_checksum == datasets.checksum(iris["X"], iris["y"])
    assert metadata.dataset_checksum == _trained(iris).metadata.dataset_checksum  # type: ignore[union-attr]


def test_train_reports_gradient_boosting_progress_stage_by_stage(iris: dict[str, Any]) -> None:
    reported: list[float] = []

    _trained(iris, algorithm="gradient_boosting", n_estimators=4, progress=reported.append)

    assert reported == [0.25, 0.5, 0.75, 1.0]


def test_train_reports_decision_tree_done_once(iris: dict[str, Any]) -> None:
    reported: list[float] = []

    _trained(iris, progress=reported.append)

    assert reported == [1.0]


def test_to_bytes_then_from_bytes_gives_the_same_model(
    tree: IrisClassifier, iris: dict[str, Any]
) -> None:
    data = tree.to_bytes()

    loaded = IrisClassifier.from_bytes(data, test_size=0.4)

    assert loaded.checksum == hashlib.sha256(data).hexdigest()
    assert loaded.metadata == tree.metadata
    assert loaded.test_size == 0.4
    assert loaded.predict(iris["X"].tolist()) == tree.predict(iris["X"].tolist())


def test_to_bytes_of_the_same_model_is_always_the_same(tree: IrisClassifier) -> None:
    assert tree.to_bytes() == tree.to_bytes()


def test_to_bytes_of_a_loaded_model_is_the_file_it_came_from(tree: IrisClassifier) -> None:
    data = tree.to_bytes()

    assert IrisClassifier.from_bytes(data).to_bytes() == data
    assert IrisClassifier.load().to_bytes() == persistence.bundled_model_bytes()


def test_to_bytes_after_retraining_is_the_new_model(iris: dict[str, Any]) -> None:
    classifier = IrisClassifier.load()
    before = classifier.to_bytes()

    classifier.train(iris["X"], iris["y"], max_depth=1)

    assert classifier.to_bytes() != before
    assert IrisClassifier.from_bytes(classifier.to_bytes()).estimator.get_depth() == 1


def test_save_writes_the_bytes_of_to_bytes(tree: IrisClassifier, tmp_path: Path) -> None:
    checksum = tree.save(tmp_path / "model.skops")

    assert (tmp_path / "model.skops").read_bytes() == tree.to_bytes()
    assert checksum == hashlib.sha256(tree.to_bytes()).hexdigest()


def test_from_bytes_refuses_truncated_bytes(tree: IrisClassifier) -> None:
    with pytest.raises(ModelFileError):
        IrisClassifier.from_bytes(tree.to_bytes()[:-50])


def test_bundled_model_records_provenance() -> None:
    metadata = IrisClassifier.load().metadata

    assert metadata is not None
    assert metadata.dataset_name == "iris"
    assert len(metadata.dataset_checksum) == 64
    assert metadata.training_seconds >= 0
