"""The OpenAPI document of the served model: descriptions and examples change, schemas never.

Documents are made here from an app that is never started and examples made by hand:
the served model of a real server is the end-to-end tests' (``tests/e2e/test_documents.py``).
"""

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any, cast

import pytest

from mlapi.api.documents import MAX_LISTED, ServedDocuments, served_document
from mlapi.main import create_app
from mlapi.ml import IrisClassifier
from mlapi.serving.errors import ModelNotReadyError
from mlapi.serving.records import Predictions, ServedExample
from mlapi.serving.service import Service
from mlapi.settings import Settings
from tests.serving.versions import version_of

PREDICT_PATHS = ("/predict", "/v1/predict")


@pytest.fixture(scope="module")
def routes_document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document the routes make, as an app whose model has not loaded serves it."""
    folder: Path = tmp_path_factory.mktemp("documents")
    app = create_app(Settings(model_dir=str(folder / "models"), cache_dir=folder / "cache"))
    return app.openapi()


@pytest.fixture(scope="module")
def bundled() -> IrisClassifier:
    return IrisClassifier.load()


def example(
    bundled: IrisClassifier,
    *,
    number: int = 3,
    features: dict[str, tuple[str, Any]] | None = None,
    classes: list[str] | None = None,
    placeholder: bool = False,
) -> ServedExample:
    """An example of a model of these features (name: type and example value) and classes."""
    features = features or {"alcohol": ("number", 14.23), "ash": ("number", 2.43)}
    classes = classes or ["barbera", "barolo", "grignolino"]
    version = dataclasses.replace(
        version_of(bundled, number),
        dataset_name="wine",
        feature_names=list(features),
        feature_types=[kind for kind, _ in features.values()],
        class_names=classes,
    )
    probability = [[0.0] * (len(classes) - 1) + [1.0]]
    answer = Predictions([len(classes) - 1], probability, [classes[-1]], number)
    row = [value for _, value in features.values()]
    return ServedExample(version, row, placeholder, answer)


def body(document: dict[str, Any], path: str, part: str = "request") -> dict[str, Any]:
    """The request body, or the 200 answer, of a predict operation."""
    operation = document["paths"][path]["post"]
    found: dict[str, Any] = operation["requestBody" if part == "request" else "responses"]
    return found if part == "request" else found["200"]


def example_values(described: dict[str, Any]) -> list[Any]:
    """The values of a body's named examples."""
    examples = described["content"]["application/json"].get("examples", {})
    return [each["value"] for each in examples.values()]


def without_words(value: Any) -> Any:
    """A document without its descriptions and examples: what it says is valid."""
    if isinstance(value, dict):
        return {
            key: without_words(item)
            for key, item in value.items()
            if key not in {"description", "examples"}
        }
    if isinstance(value, list):
        return [without_words(item) for item in value]
    return value


def test_served_document_changes_only_descriptions_and_examples(
    routes_document: dict[str, Any], bundled: IrisClassifier
) -> None:
    before = copy.deepcopy(routes_document)

    document = served_document(routes_document, example(bundled))

    assert without_words(document) == without_words(routes_document)
    assert document != routes_document
    assert routes_document == before, "the routes' document itself must not change"


def test_request_bodies_list_the_features_in_order_with_the_example_row(
    routes_document: dict[str, Any], bundled: IrisClassifier
) -> None:
    document = served_document(routes_document, example(bundled))

    for path in PREDICT_PATHS:
        description = body(document, path)["description"]
        assert "version 3" in description
        assert "| 0 | `alcohol` | `number` | `14.23` |" in description
        assert "| 1 | `ash` | `number` | `2.43` |" in description
        assert "placeholders" not in description
    assert example_values(body(document, "/predict")) == [{"data": [[14.23, 2.43]]}]
    assert example_values(body(document, "/v1/predict")) == [
        {"data": [[14.23, 2.43]]},
        {"data": [{"alcohol": 14.23, "ash": 2.43}]},
        {"data": [[14.23, 2.43]], "model_version": 3},
    ]
    schemas = document["components"]["schemas"]
    assert schemas["IrisPredictionInput"]["examples"] == [{"data": [[14.23, 2.43]]}]
    assert len(schemas["PredictionRequest"]["examples"]) == 3


def test_answers_name_the_classes_and_show_the_models_answer(
    routes_document: dict[str, Any], bundled: IrisClassifier
) -> None:
    document = served_document(routes_document, example(bundled))

    article, versioned = (
        body(document, "/predict", "answer"),
        body(document, "/v1/predict", "answer"),
    )
    assert "(0 `barbera`, 1 `barolo`, 2 `grignolino`)" in article["description"]
    assert "(0 `barbera`, 1 `barolo`, 2 `grignolino`)" in versioned["description"]
    assert example_values(article) == [{"prediction": [2], "probability": [[0.0, 0.0, 1.0]]}]
    assert example_values(versioned) == [
        {
            "prediction": [2],
            "probability": [[0.0, 0.0, 1.0]],
            "labels": ["grignolino"],
            "model_version": 3,
        }
    ]


def test_a_model_of_text_features_has_no_example_for_the_articles_numbers(
    routes_document: dict[str, Any], bundled: IrisClassifier
) -> None:
    features = {"weight": ("number", 4.1), "colour": ("string", "ginger"), "age": ("integer", 3)}

    document = served_document(routes_document, example(bundled, features=features))

    article = body(document, "/predict")
    assert example_values(article) == []
    assert "examples" not in document["components"]["schemas"]["IrisPredictionInput"]
    assert "POST /v1/predict" in article["description"]
    assert example_values(body(document, "/predict", "answer")) == []
    assert example_values(body(document, "/v1/predict"))[0] == {"data": [[4.1, "ginger", 3]]}
    assert (
        '| 1 | `colour` | `string` | `"ginger"` |' in body(document, "/v1/predict")["description"]
    )


def test_placeholders_are_said_to_be_placeholders(
    routes_document: dict[str, Any], bundled: IrisClassifier
) -> None:
    document = served_document(routes_document, example(bundled, placeholder=True))

    for path in PREDICT_PATHS:
        assert "placeholders" in body(document, path)["description"]
        examples = body(document, path)["content"]["application/json"]["examples"]
        assert examples["row"]["summary"].startswith("Placeholders")


def test_feature_names_cannot_break_out_of_their_table_cell(
    routes_document: dict[str, Any], bundled: IrisClassifier
) -> None:
    features = {"a|b`c\nd": ("number", 1.0), "``<b>x</b>": ("number", 2.0)}

    document = served_document(routes_document, example(bundled, features=features))

    description = body(document, "/v1/predict")["description"]
    assert "| 0 | ``a\\|b`c d`` | `number` | `1.0` |" in description
    assert "| 1 | ``` ``<b>x</b> ``` | `number` | `2.0` |" in description


def test_long_lists_of_features_and_classes_are_cut_in_descriptions_not_examples(
    routes_document: dict[str, Any], bundled: IrisClassifier
) -> None:
    width = MAX_LISTED + 50
    features = {f"f{index}": ("number", float(index)) for index in range(width)}
    classes = [f"c{index}" for index in range(MAX_LISTED + 2)]

    document = served_document(
        routes_document, example(bundled, features=features, classes=classes)
    )

    description = body(document, "/v1/predict")["description"]
    assert f"| {MAX_LISTED - 1} | `f{MAX_LISTED - 1}` |" in description
    assert f"`f{MAX_LISTED}`" not in description
    assert "and 50 more features" in description
    assert "and 2 more" in body(document, "/v1/predict", "answer")["description"]
    assert len(example_values(body(document, "/v1/predict"))[0]["data"][0]) == width


class FakeService:
    """Serves whichever example it is given; no model until one is."""

    def __init__(self) -> None:
        self.serving: ServedExample | None = None

    def example(self) -> ServedExample:
        if self.serving is None:
            raise ModelNotReadyError("the model is still loading")
        return self.serving


def test_documents_are_made_once_per_served_version_and_kept_for_a_roll_back(
    routes_document: dict[str, Any], bundled: IrisClassifier
) -> None:
    service = FakeService()
    documents = ServedDocuments(cast(Service, service))

    loading = documents.describe(routes_document)
    service.serving = example(bundled, number=1)
    first = documents.describe(routes_document)
    again = documents.describe(routes_document)
    service.serving = example(bundled, number=2, features={"proline": ("number", 1065.0)})
    second = documents.describe(routes_document)
    service.serving = example(bundled, number=1)
    rolled_back = documents.describe(routes_document)

    assert loading is routes_document
    assert first is again is rolled_back
    assert "`proline`" in json.dumps(second)
    assert "`proline`" not in json.dumps(first)
    assert "version 2" in body(second, "/predict")["description"]


def test_documents_kept_are_dropped_when_the_routes_document_is_made_anew(
    routes_document: dict[str, Any], bundled: IrisClassifier
) -> None:
    service = FakeService()
    service.serving = example(bundled)
    documents = ServedDocuments(cast(Service, service))
    first = documents.describe(routes_document)
    remade = copy.deepcopy(routes_document)
    remade["info"]["version"] = "2.0"

    assert documents.describe(remade)["info"]["version"] == "2.0"
    assert documents.describe(remade) is not first
