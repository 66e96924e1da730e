"""The served model shown by example: a row it takes, and its own answer to it."""

import dataclasses

import pytest

from mlapi.ml import IrisClassifier
from mlapi.serving.active_model import ServedModel
from mlapi.serving.examples import served_example
from tests.serving.versions import version_of


@pytest.fixture(scope="module")
def bundled() -> IrisClassifier:
    return IrisClassifier.load()


def test_bundled_model_is_shown_by_the_articles_row_and_its_answer(
    bundled: IrisClassifier,
) -> None:
    example = served_example(version_of(bundled), bundled)

    assert example.row == [5.1, 3.5, 1.4, 0.2]
    assert not example.placeholder
    assert example.answer.prediction == bundled.predict([example.row])["prediction"] == [0]
    assert example.answer.probability == bundled.predict([example.row])["probability"]
    assert example.answer.labels == ["setosa"]
    assert example.answer.model_version == 7


def test_a_recorded_row_the_model_refuses_gives_way_to_placeholders(
    bundled: IrisClassifier,
) -> None:
    # A null the bare tree cannot fill in: the row passes as JSON, not as its input.
    assert bundled.metadata is not None
    metadata = dataclasses.replace(bundled.metadata, example_row=[5.1, None, 1.4, 0.2])
    refusing = IrisClassifier.from_bytes(bundled.to_bytes())
    refusing.metadata = metadata

    example = served_example(version_of(refusing), refusing)

    assert (example.row, example.placeholder) == ([0.0, 0.0, 0.0, 0.0], True)
    assert example.answer.prediction == refusing.predict([[0.0, 0.0, 0.0, 0.0]])["prediction"]


def test_served_model_makes_its_example_once(bundled: IrisClassifier) -> None:
    served = ServedModel(version_of(bundled), bundled)

    assert served.example is served.example
