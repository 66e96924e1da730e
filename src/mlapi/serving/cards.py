"""Model cards: what a registered version is, how good it is, and what it is not for.

:func:`model_card` writes a version's card as Markdown with :class:`skops.card.Card`,
from its registry record alone, so a card is the same whether it was written when the
version was registered or, for a version registered before mlapi wrote cards, made
when it is first asked for. The estimator itself is not given to skops: its model
diagram is HTML and CSS that a strict content security policy refuses, and the
hyperparameters worth reading are those the version was trained with (the catalogue's,
defaults filled in), which the record holds, rather than every nested parameter of a
pipeline.

Every name that comes from a data set (its name, its features, its classes) is escaped
for Markdown (:func:`escape`): rendered by any CommonMark renderer it is text, never
HTML, and a ``|`` in it does not split a table's cell.
"""

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from skops.card import Card

from mlapi.ml.estimators import CATALOGUE
from mlapi.ml.examples import placeholder_row
from mlapi.serving.records import ModelVersion

#: Characters with a meaning in CommonMark or in a GFM table, wherever they stand in a line.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|&!~])")
#: Line breaks and other control characters, which would end a table's row or a list item.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
#: JSON's characters that are special in Markdown code or a shell's single quotes.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027", "`": "\\u0060"}

#: The address ``make run`` serves on, in the card's request example.
EXAMPLE_URL = "http://127.0.0.1:8888"


def escape(text: object) -> str:
    """Make text safe to put in a Markdown line or a table cell, as the same text.

    Args:
        text: Any value; its ``str`` is escaped.

    Returns:
        The text on one line, each character with a Markdown meaning backslash-escaped.
    """
    return _SPECIAL.sub(r"\\\1", _BREAKS.sub(" ", str(text)))


def _number(value: float) -> str:
    return f"{value:.4f}"


def _add_table(
    card: Card, key: str, table: Mapping[str, Sequence[Any]], description: str = ""
) -> None:
    card.add_table(description=description, **{key: dict(table)})
    # skops titles a table's section with its whole key; the title is the last part.
    card.select(key).title = key.rsplit("/", 1)[-1]


def _algorithm(name: str) -> str:
    spec = CATALOGUE.get(name)
    return f"{spec.title} (`{name}`)" if spec else f"`{name}`"


def _request_example(version: ModelVersion) -> str:
    row = dict(zip(version.feature_names, placeholder_row(version.feature_types), strict=True))
    body = json.dumps({"data": [row], "model_version": version.version}, ensure_ascii=False)
    for character, replacement in _JSON_ESCAPES.items():
        body = body.replace(character, replacement)
    return (
        "Ask this version for the class of a row, by feature name (here placeholders of "
        "each feature's type: put a row's own values):\n\n```shell\n"
        f'curl -X POST {EXAMPLE_URL}/v1/predict -H "Content-Type: application/json" \\\n'
        f"  -d '{body}'\n```\n\n"
        'Where predict keys are configured, add `-H "Authorization: Bearer $MLAPI_KEY"`. '
        "The answer names the class of each row (`labels`), its probabilities and the version."
    )


def _limitations(version: ModelVersion, training_rows: int | None) -> str:
    dataset = escape(version.dataset_name)
    test_rows = version.metrics.test_rows
    if training_rows is not None:
        share = test_rows / (test_rows + training_rows)
        split = (
            f"{test_rows} held-out rows, {share:.0%} of the data set's {test_rows + training_rows} "
            f"(test size {share:.2f}); it was fitted on the other {training_rows}"
        )
    else:
        split = f"{test_rows} held-out rows of it, not used to fit it"
    classes = ", ".join(escape(name) for name in version.class_names)
    return (
        f"This model sorts rows shaped like those of the data set {dataset} into one of its "
        f"{len(version.class_names)} classes ({classes}), from the {len(version.feature_names)} "
        "features listed above, in that order. It is meant for rows drawn from the same "
        "population, measured the same way, as that data set's.\n\n"
        f"- It was evaluated once, on {split}. Its metrics are estimates from that one "
        "split: a small split gives uncertain ones, and a different split would give "
        "others.\n"
        "- It has not been validated for use outside the population the data set was "
        "drawn from: rows from elsewhere, or measured otherwise, may be classified wrongly "
        "with high probabilities.\n"
        "- It always answers one of the classes above, even for a row that is none of them.\n"
        "- Its probabilities are the estimator's, not calibrated.\n"
        "- It is not meant for decisions about people without a review of the data set's "
        "provenance, of its biases, and of the errors per class below."
    )


def model_card(version: ModelVersion, training_rows: int | None = None) -> str:
    """Write the model card of a registered version.

    Args:
        version: The version's registry record.
        training_rows: Rows it was fitted on, from its model file's metadata; with it
            the card gives the held-out share (the test size). None where unknown.

    Returns:
        The card in Markdown (CommonMark with GFM tables), with no raw HTML.
    """
    metrics, classes = version.metrics, version.class_names
    card = Card(None, model_diagram=False, template=None)
    top = f"Model card of version {version.version}"
    card.add(
        **{
            top: (
                f"A classifier of the data set {escape(version.dataset_name)}, trained with "
                f"{_algorithm(version.algorithm)} and registered as version {version.version} of "
                f"an mlapi registry by {escape(version.created_by)} on "
                f"{version.created_at.isoformat(timespec='seconds')}."
            ),
            f"{top}/Data set": "\n".join(
                [
                    f"- Name: {escape(version.dataset_name)}",
                    f"- Package: {escape(version.dataset_url or 'bundled with mlapi')}",
                    f"- Package SHA-256: {version.dataset_sha256 or 'none (no package file)'}",
                    f"- SHA-256 of its features and classes: {version.dataset_checksum}",
                ]
            ),
        }
    )
    features = list(enumerate(zip(version.feature_names, version.feature_types, strict=True), 1))
    _add_table(
        card,
        f"{top}/Data set/Features",
        {
            "Column": [position for position, _ in features],
            "Name": [escape(name) for _, (name, _kind) in features],
            "Type": [kind for _, (_name, kind) in features],
        },
        "The model takes one value per feature, in this order.",
    )
    _add_table(
        card,
        f"{top}/Data set/Classes",
        {"Class": list(range(len(classes))), "Name": [escape(name) for name in classes]},
        "The model answers the class number and its name.",
    )
    card.add(**{f"{top}/Intended uses and limitations": _limitations(version, training_rows)})
    card.add(
        **{
            f"{top}/Training": (
                f"Algorithm: {_algorithm(version.algorithm)}. Fitting took "
                f"{version.training_seconds:.3f} s"
                + (f" on {training_rows} rows." if training_rows is not None else ".")
            )
        }
    )
    hyperparameters = version.hyperparameters or {"(the algorithm's defaults)": ""}
    _add_table(
        card,
        f"{top}/Training/Hyperparameters",
        {
            "Hyperparameter": [escape(name) for name in hyperparameters],
            "Value": [escape(json.dumps(value)) for value in hyperparameters.values()],
        },
    )
    card.add_metrics(
        section=f"{top}/Evaluation results",
        description=f"On {metrics.test_rows} held-out rows, not used to fit the model.",
        **{
            "accuracy": _number(metrics.accuracy),
            "macro F1": _number(metrics.macro_f1),
            "held-out rows": metrics.test_rows,
        },
    )
    per_class = [metrics.per_class[name] for name in classes]
    _add_table(
        card,
        f"{top}/Evaluation results/Per class",
        {
            "Class": [escape(name) for name in classes],
            "Precision": [_number(each.precision) for each in per_class],
            "Recall": [_number(each.recall) for each in per_class],
            "F1": [_number(each.f1) for each in per_class],
            "Held-out rows": [each.support for each in per_class],
        },
    )
    columns = {
        f"predicted {escape(name)}": list(column)
        for name, column in zip(classes, zip(*metrics.confusion_matrix, strict=True), strict=True)
    }
    _add_table(
        card,
        f"{top}/Evaluation results/Confusion matrix",
        {"true class": [escape(name) for name in classes], **columns},
        "Held-out rows by true class (rows) and predicted class (columns); the diagonal "
        "counts the rows predicted right.",
    )
    libraries = version.libraries or {}
    card.add(
        **{
            f"{top}/Model file and libraries": (
                f"Model file SHA-256 (checked on every load): {version.checksum}\n\n"
                + (
                    "Trained with these versions, which loading it compares with the server's:"
                    if libraries
                    else "Registered before mlapi recorded the library versions that made it."
                )
            )
        }
    )
    if libraries:
        _add_table(
            card,
            f"{top}/Model file and libraries/Libraries",
            {"Library": list(libraries), "Version": [escape(v) for v in libraries.values()]},
        )
    card.add(**{f"{top}/How to get started": _request_example(version)})
    markdown: str = card.render()
    return markdown.strip() + "\n"
