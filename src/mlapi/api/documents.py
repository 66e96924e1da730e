"""The OpenAPI document, describing the model this process serves.

FastAPI's document is made once from the routes (:func:`mlapi.main.create_app`). The
predict operations' bodies then get the served model's words: its version, its feature
names in column order with their types, an example row of its data set, its class
names, and its own answer to that row as the example answer. Only descriptions and
examples change; every schema, and so what the document says is valid, stays as the
routes declare it.

The document of each served version is made once and kept (a few versions, so that a
roll-back finds its document ready); the next request after an activation, made here
or by any other process (which this process follows, see
:mod:`mlapi.serving.active_model`), gets the new version's document. Until a model has
loaded, the routes' own document is served.
"""

import copy
import json
import re
from collections import OrderedDict
from typing import Any

from mlapi.ml import InvalidInputError
from mlapi.serving.errors import ModelNotReadyError
from mlapi.serving.records import ServedExample
from mlapi.serving.service import Service

#: Documents kept, one per served version.
KEPT_DOCUMENTS = 4

#: Most features, or classes, listed in a description; the examples hold every feature.
MAX_LISTED = 100

#: The operations described, and the component schemas of their bodies.
ARTICLE, VERSIONED = "/predict", "/v1/predict"
_SCHEMAS = {
    ARTICLE: ("IrisPredictionInput", "IrisPredictionResponse"),
    VERSIONED: ("PredictionRequest", "Predictions"),
}


class ServedDocuments:
    """The OpenAPI document for each model version this process serves.

    Args:
        service: Says which model is served, by an example row and its answer.
    """

    def __init__(self, service: Service) -> None:
        self._service = service
        self._kept: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._source: dict[str, Any] | None = None

    def describe(self, routes_document: dict[str, Any]) -> dict[str, Any]:
        """Give the document of the model served now.

        Args:
            routes_document: The document made from the routes, never changed here;
                the documents kept are made from it, and made anew if another is given.

        Returns:
            A copy of ``routes_document`` describing the served model, made once per
            version; ``routes_document`` itself until a model has loaded.
        """
        try:
            example = self._service.example()
        except (ModelNotReadyError, InvalidInputError):
            return routes_document
        if routes_document is not self._source:  # made anew: what was kept is stale
            self._kept.clear()
            self._source = routes_document
        number = example.version.version
        document = self._kept.get(number)
        if document is None:
            document = served_document(routes_document, example)
            self._kept[number] = document
            while len(self._kept) > KEPT_DOCUMENTS:
                self._kept.popitem(last=False)
        self._kept.move_to_end(number)
        return document


def served_document(routes_document: dict[str, Any], example: ServedExample) -> dict[str, Any]:
    """Make the document describing one served model from the routes' document.

    Args:
        routes_document: The routes' document, left unchanged: what is changed is copied.
        example: The served model's version, an example row and its answer.

    Returns:
        The document, its predict operations and their body schemas described anew.
    """
    document = dict(routes_document)
    document["paths"] = dict(routes_document["paths"])
    components = document["components"] = dict(routes_document["components"])
    schemas = components["schemas"] = dict(routes_document["components"]["schemas"])
    bodies = _bodies(example)
    for path, (request_schema, answer_schema) in _SCHEMAS.items():
        if path not in document["paths"]:
            continue
        document["paths"][path] = item = copy.deepcopy(document["paths"][path])
        request, answer = bodies[path]
        _describe(item["post"]["requestBody"], request, _request_description(path, example))
        _describe(item["post"]["responses"]["200"], answer, _answer_description(path, example))
        for name, values in ((request_schema, request), (answer_schema, answer)):
            schemas[name] = schema = dict(schemas[name])
            schema.pop("examples", None)
            if values:
                schema["examples"] = [value["value"] for value in values.values()]
    return document


def _describe(body: dict[str, Any], examples: dict[str, Any], description: str) -> None:
    body["description"] = description
    media = body["content"]["application/json"]
    media.pop("examples", None)
    if examples:
        media["examples"] = examples


def _bodies(example: ServedExample) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """The named examples of each operation's request and answer, as OpenAPI has them."""
    version = example.version
    row, answer = example.row, example.answer
    origin = (
        f"Placeholders of each feature's type (version {version.version} recorded no row)"
        if example.placeholder
        else f"A row of the {version.dataset_name} data set (version {version.version})"
    )
    keyed = dict(zip(version.feature_names, row, strict=True))
    versioned_request = {
        "row": _example(origin, {"data": [row]}),
        "object": _example("The same row, keyed by feature name", {"data": [keyed]}),
        "version": _example(
            f"The same row, asked of version {version.version} by number",
            {"data": [row], "model_version": version.version},
        ),
    }
    answered = {
        "prediction": answer.prediction,
        "probability": answer.probability,
        "labels": answer.labels,
        "model_version": answer.model_version,
    }
    versioned_answer = {"row": _example("The served model's answer to the example", answered)}
    article: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    if _numbers_only(row):  # the article's rows are numbers, never text or null
        article_answer = {key: answered[key] for key in ("prediction", "probability")}
        article = (
            {"row": _example(origin, {"data": [row]})},
            {"row": _example("The served model's answer to the example", article_answer)},
        )
    return {ARTICLE: article, VERSIONED: (versioned_request, versioned_answer)}


def _example(summary: str, value: Any) -> dict[str, Any]:
    return {"summary": summary, "value": value}


def _numbers_only(row: list[Any]) -> bool:
    return all(isinstance(value, int | float) for value in row)


def _request_description(path: str, example: ServedExample) -> str:
    version = example.version
    served = (
        f"The model this server serves now is version {version.version}: "
        f"{_code(version.algorithm)} trained on {_code(version.dataset_name)}."
    )
    width = len(version.feature_names)
    if path == ARTICLE:
        if "string" in version.feature_types:
            takes = (
                f"It takes text in its categorical (`string`) features, which this route's "
                f"rows of numbers cannot carry: send its rows to `POST {VERSIONED}`."
            )
        else:
            takes = f"Each row holds {width} numbers, in this column order:"
    else:
        takes = (
            f"Unless `model_version` names another version, each row holds {width} values: "
            "a list in this column order, or an object keyed by feature name. A `string` "
            "feature takes text; null is a missing value, for a model that fills them in."
        )
    origin = (
        "The example's values are placeholders of each feature's type: this version "
        "recorded no row of its data set."
        if example.placeholder
        else "The example is a row of its data set."
    )
    return "\n\n".join([served, takes, _feature_table(example), origin])


def _feature_table(example: ServedExample) -> str:
    version = example.version
    columns = list(zip(version.feature_names, version.feature_types, example.row, strict=True))
    lines = ["| # | feature | type | example |", "|---|---|---|---|"]
    for index, (name, kind, value) in enumerate(columns[:MAX_LISTED]):
        shown = json.dumps(value, ensure_ascii=False)
        lines.append(f"| {index} | {_code(name)} | {_code(kind)} | {_code(shown)} |")
    if len(columns) > MAX_LISTED:
        lines.append(f"\nand {len(columns) - MAX_LISTED} more features (each in the example)")
    return "\n".join(lines)


def _answer_description(path: str, example: ServedExample) -> str:
    names = example.version.class_names
    classes = ", ".join(f"{index} {_code(name)}" for index, name in enumerate(names[:MAX_LISTED]))
    if len(names) > MAX_LISTED:
        classes += f" and {len(names) - MAX_LISTED} more"
    text = (
        f"The predicted class of each row, as an index into the served model's classes "
        f"({classes}), and each class's probability, in that order."
    )
    if path == VERSIONED:
        text += " `labels` names each row's class; `model_version` is the version that answered."
    return text


def _code(text: str) -> str:
    """Show text as a Markdown code span that fits in a table cell, whatever it holds."""
    text = re.sub(r"\s", " ", text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"
