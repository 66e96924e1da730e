"""Tabular data: the preprocessing policy, and classifiers trained on typed columns."""

import math
from typing import Any

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from mlapi.ml import FieldError, Input, InvalidInputError, IrisClassifier
from mlapi.ml.tabular import MAX_CATEGORIES, checksum, preprocessing, takes_raw_values

FEATURE_NAMES = ["colour", "length"]
FEATURE_TYPES: list[Any] = ["string", "number"]
CLASS_NAMES = ["lily", "rose", "tulip"]
COLOURS = {"white": 0, "red": 1, "yellow": 2}  # each colour is one class


def flowers() -> tuple[np.ndarray, np.ndarray]:
    """60 rows of a categorical colour and a numeric length, each with missing values."""
    colours = list(COLOURS) * 20
    features = np.array(
        [
            [np.nan if index % 7 == 0 else colour, np.nan if index % 5 == 0 else index / 10]
            for index, colour in enumerate(colours)
        ],
        dtype=object,
    )
    return features, np.array([COLOURS[colour] for colour in colours])


@pytest.fixture(scope="module")
def typed() -> IrisClassifier:
    """A decision tree trained once on the categorical data set, for tests that read it."""
    features, target = flowers()
    classifier = IrisClassifier()
    classifier.train(
        features,
        target,
        feature_types=FEATURE_TYPES,
        feature_names=FEATURE_NAMES,
        class_names=CLASS_NAMES,
        dataset_name="flowers",
    )
    return classifier


@pytest.fixture(scope="module")
def numeric() -> IrisClassifier:
    """A decision tree trained on numbers only, none missing."""
    features = np.array([[float(index), float(index % 3)] for index in range(30)])
    classifier = IrisClassifier()
    classifier.train(
        features, np.arange(30) % 3, feature_types=["number", "integer"], feature_names=["a", "b"]
    )
    return classifier


def prepare_for(feature_types: list[Any], features: np.ndarray) -> Any:
    """Build the preprocessing of these features, expecting there to be some."""
    prepare = preprocessing(feature_types, features)
    assert prepare is not None
    return prepare


def refusal(classifier: IrisClassifier, rows: Any) -> list[FieldError]:
    """Predict ``rows``, expecting them to be refused; return the errors."""
    with pytest.raises(InvalidInputError) as caught:
        classifier.predict(rows)
    return caught.value.errors


# The preprocessing policy.


def test_preprocessing_of_numbers_with_nothing_missing_is_none() -> None:
    features = np.array([[1.0, 2.0], [3.0, 4.0]])

    assert preprocessing(["number", "integer"], features) is None


def test_preprocessing_fills_a_missing_number_with_the_training_median() -> None:
    features = np.array([[1.0], [np.nan], [3.0], [10.0]])

    prepared = prepare_for(["number"], features).fit_transform(features)

    assert prepared.ravel().tolist() == [1.0, 3.0, 3.0, 10.0]


def test_preprocessing_encodes_missing_text_as_its_own_category_and_unseen_as_none() -> None:
    features = np.array([["a"], ["b"], [np.nan], ["a"]], dtype=object)
    prepare = prepare_for(["string"], features)

    prepared = prepare.fit_transform(features)
    unseen = prepare.transform(np.array([["z"]], dtype=object))

    # Categories are sorted: "(missing)", "a", "b".
    assert prepared.tolist() == [[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]]
    assert unseen.tolist() == [[0, 0, 0]]


def test_preprocessing_keeps_the_most_frequent_categories_and_groups_the_rest() -> None:
    common = [f"common {index}" for index in range(MAX_CATEGORIES - 1)] * 3
    values = common + [f"rare {index}" for index in range(50)]
    features = np.array([[value] for value in values], dtype=object)
    prepare = prepare_for(["string"], features)

    prepared = prepare.fit_transform(features)
    rare, unseen = prepare.transform(np.array([["rare 7"], ["never seen"]], dtype=object))

    assert prepared.shape == (len(values), MAX_CATEGORIES)
    assert rare.tolist() == unseen.tolist()  # both in the one "infrequent" column
    assert unseen.sum() == 1


def test_checksum_of_text_features_is_stable_and_changes_with_one_value() -> None:
    features, target = flowers()
    changed = features.copy()
    changed[1, 0] = "blue"

    assert checksum(features.copy(), target.copy()) == checksum(features, target)
    assert checksum(changed, target) != checksum(features, target)


# A classifier of categorical columns and missing values.


def test_train_on_text_and_missing_values_gives_a_pipeline_of_preprocessing(
    typed: IrisClassifier,
) -> None:
    assert isinstance(typed.estimator, Pipeline)
    assert takes_raw_values(typed.estimator)
    assert typed.metadata is not None
    assert typed.metadata.feature_types == FEATURE_TYPES


def test_typed_model_predicts_unseen_categories_and_missing_values(typed: IrisClassifier) -> None:
    rows = [["red", 1.0], ["purple", 2.0], [None, None], ["white", math.nan]]

    prediction = typed.predict(rows)

    assert prediction["prediction"][0] == COLOURS["red"]
    assert prediction["prediction"][3] == COLOURS["white"]
    assert len(prediction["probability"]) == 4
    assert all(math.isclose(sum(row), 1.0) for row in prediction["probability"])


def test_typed_model_refuses_values_of_the_wrong_type_naming_row_and_column(
    typed: IrisClassifier,
) -> None:
    errors = refusal(typed, [["red", 1.0], [3, 1.0], ["red", "long"], ["red", math.inf]])

    assert [(error.input, error.location, error.kind) for error in errors] == [
        (Input.ROWS, (1, 0), "type"),
        (Input.ROWS, (2, 1), "type"),
        (Input.ROWS, (3, 1), "type"),
    ]
    assert [error.message for error in errors] == [
        "must be a string or null",
        "must be a finite number or null",
        "must be a finite number or null",
    ]


def test_typed_model_takes_rows_as_objects_keyed_by_feature_name(typed: IrisClassifier) -> None:
    as_lists = typed.predict([["red", 1.0], ["white", None]])

    as_objects = typed.predict(
        [{"length": 1.0, "colour": "red"}, {"colour": "white", "length": None}]
    )

    assert as_objects == as_lists


def test_typed_model_refuses_an_object_lacking_a_feature_or_naming_an_unknown_one(
    typed: IrisClassifier,
) -> None:
    errors = refusal(typed, [{"colour": "red"}, {"colour": "red", "length": 1.0, "petals": 5}])

    assert [(error.location, error.kind) for error in errors] == [
        ((0, "length"), "missing_feature"),
        ((1, "petals"), "unknown_feature"),
    ]


def test_labels_name_the_predicted_classes(typed: IrisClassifier) -> None:
    prediction = typed.predict([["white", 1.0], ["red", 1.0], ["yellow", 1.0]])["prediction"]

    assert typed.labels(prediction) == CLASS_NAMES


def test_typed_model_saves_and_loads_back_predicting_the_same(typed: IrisClassifier) -> None:
    rows = [["red", 1.0], ["purple", None], [None, 5.5]]

    loaded = IrisClassifier.from_bytes(typed.to_bytes(), trusted_types=typed.trusted_types)

    assert isinstance(loaded.estimator, Pipeline)
    assert loaded.predict(rows) == typed.predict(rows)
    assert loaded.labels([0, 1, 2]) == CLASS_NAMES


# Numbers only.


def test_numbers_with_nothing_missing_give_a_bare_estimator_that_refuses_none(
    numeric: IrisClassifier,
) -> None:
    errors = refusal(numeric, [[1.0, 2.0], [None, 1.0]])

    assert isinstance(numeric.estimator, DecisionTreeClassifier)
    assert not takes_raw_values(numeric.estimator)
    assert [(error.location, error.message) for error in errors] == [
        ((1, 0), "must be a finite number")
    ]


def test_numbers_with_missing_values_give_a_pipeline_that_fills_them_in() -> None:
    features = np.array([[float(index), np.nan if index % 4 == 0 else 1.0] for index in range(30)])
    classifier = IrisClassifier()

    classifier.train(features, np.arange(30) % 2, feature_types=["number", "number"])

    assert takes_raw_values(classifier.estimator)
    assert len(classifier.predict([[3.0, None]])["prediction"]) == 1
