"""Model cards: every section, the evaluation's numbers, and names that stay text."""

import dataclasses
import json
import shlex

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from mlapi.ml import IrisClassifier
from mlapi.ml.evaluation import ClassMetrics
from mlapi.ml.persistence import bundled_model_bytes
from mlapi.serving.cards import escape, model_card
from mlapi.serving.records import ModelVersion
from tests.serving.versions import version_of

#: How the dashboard renders a card: CommonMark and tables, raw HTML as text.
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")

HOSTILE = "<script>alert(1)</script> | *x* `y` [z](javascript:alert(1)) &amp;\n| broken"


@pytest.fixture(scope="module")
def bundled() -> IrisClassifier:
    return IrisClassifier.from_bytes(bundled_model_bytes())


@pytest.fixture(scope="module")
def version(bundled: IrisClassifier) -> ModelVersion:
    return version_of(bundled, 3)


def _text(inline: Token) -> str:
    """What an inline token renders as, as text: escapes and markup gone."""
    children = inline.children or []
    return "".join("\n" if child.type == "softbreak" else child.content for child in children)


def _sections(markdown: str) -> dict[str, str]:
    """The text under each heading, by heading (its level as that many ``#``)."""
    tokens = MARKDOWN.parse(markdown)
    found: dict[str, str] = {}
    heading, text = "", []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            found[heading] = "\n".join(text)
            heading, text = f"{token.markup} {tokens[index + 1].content}", []
        elif token.type == "inline":
            text.append(_text(token))
    found[heading] = "\n".join(text)
    return found


def _tables(markdown: str) -> dict[str, list[list[str]]]:
    """The cells of each table, as the text they render, by the heading above the table."""
    tables: dict[str, list[list[str]]] = {}
    heading, row = "", None
    tokens = MARKDOWN.parse(markdown)
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[index + 1].content
        elif token.type == "tr_open":
            row = []
            tables.setdefault(heading, []).append(row)
        elif token.type == "inline" and row is not None:
            row.append(_text(token))
        elif token.type == "tr_close":
            row = None
    return tables


def _raw_html(markdown: str) -> list[str]:
    """Raw HTML that a renderer letting it through (as CommonMark's default does) finds."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    inline = [child for token in tokens for child in token.children or []]
    return [token.content for token in [*tokens, *inline] if token.type.startswith("html_")]


def _request_words(markdown: str) -> list[str]:
    """The words of the shell command the card shows, as a shell reads them."""
    (fence,) = (token for token in MARKDOWN.parse(markdown) if token.type == "fence")
    assert fence.info == "shell"
    return shlex.split(fence.content.replace("\\\n", " "))


def test_card_has_every_section(version: ModelVersion) -> None:
    sections = _sections(model_card(version, training_rows=120))

    assert list(sections)[1:] == [
        "# Model card of version 3",
        "## Data set",
        "### Features",
        "### Classes",
        "## Intended uses and limitations",
        "## Training",
        "### Hyperparameters",
        "## Evaluation results",
        "### Per class",
        "### Confusion matrix",
        "## Model file and libraries",
        "### Libraries",
        "## How to get started",
    ]
    assert "registered as version 3" in sections["# Model card of version 3"]
    assert "by test on" in sections["# Model card of version 3"]
    assert version.dataset_checksum in sections["## Data set"]
    assert version.checksum in sections["## Model file and libraries"]


def test_card_lists_features_classes_hyperparameters_and_libraries_in_order(
    version: ModelVersion,
) -> None:
    tables = _tables(model_card(version))

    assert tables["Features"][1:] == [
        [str(column), name, "number"] for column, name in enumerate(version.feature_names, 1)
    ]
    assert tables["Classes"][1:] == [["0", "setosa"], ["1", "versicolor"], ["2", "virginica"]]
    assert {row[0]: row[1] for row in tables["Hyperparameters"][1:]} == {
        name: json.dumps(value) for name, value in version.hyperparameters.items()
    }
    assert version.libraries is not None
    assert dict(tables["Libraries"][1:]) == version.libraries


def test_card_gives_the_evaluation_s_metrics_and_confusion_matrix(version: ModelVersion) -> None:
    metrics = dataclasses.replace(
        version.metrics,
        accuracy=0.9,
        macro_f1=0.8765,
        per_class={
            "setosa": ClassMetrics(1.0, 0.5, 0.6667, 4),
            "versicolor": ClassMetrics(0.25, 0.125, 0.1, 8),
            "virginica": ClassMetrics(0.0, 0.0, 0.0, 18),
        },
        confusion_matrix=[[2, 1, 1], [3, 1, 4], [5, 6, 7]],
    )
    tables = _tables(model_card(dataclasses.replace(version, metrics=metrics)))

    assert tables["Evaluation results"] == [
        ["Metric", "Value"],
        ["accuracy", "0.9000"],
        ["macro F1", "0.8765"],
        ["held-out rows", "30"],
    ]
    assert tables["Per class"] == [
        ["Class", "Precision", "Recall", "F1", "Held-out rows"],
        ["setosa", "1.0000", "0.5000", "0.6667", "4"],
        ["versicolor", "0.2500", "0.1250", "0.1000", "8"],
        ["virginica", "0.0000", "0.0000", "0.0000", "18"],
    ]
    # Rows are the true class, columns the predicted one.
    assert tables["Confusion matrix"] == [
        ["true class", "predicted setosa", "predicted versicolor", "predicted virginica"],
        ["setosa", "2", "1", "1"],
        ["versicolor", "3", "1", "4"],
        ["virginica", "5", "6", "7"],
    ]


def test_card_says_what_the_model_is_for_and_on_what_split_it_was_judged(
    version: ModelVersion,
) -> None:
    limits = _sections(model_card(version, training_rows=120))["## Intended uses and limitations"]

    assert "data set iris into one of its 3 classes (setosa, versicolor, virginica)" in limits
    assert "30 held-out rows, 20% of the data set's 150 (test size 0.20)" in limits
    assert "fitted on the other 120" in limits
    assert "not been validated for use outside the population" in limits


def test_card_of_a_version_without_its_training_rows_or_libraries_says_what_is_unknown(
    version: ModelVersion,
) -> None:
    markdown = model_card(dataclasses.replace(version, libraries=None))
    sections = _sections(markdown)

    assert (
        "evaluated once, on 30 held-out rows of it" in sections["## Intended uses and limitations"]
    )
    assert "test size" not in markdown
    assert "before mlapi recorded the library versions" in sections["## Model file and libraries"]
    assert "### Libraries" not in sections


def test_card_tells_how_to_ask_the_version_with_its_feature_names(version: ModelVersion) -> None:
    words = _request_words(model_card(version))

    assert words[:4] == ["curl", "-X", "POST", "http://127.0.0.1:8888/v1/predict"]
    body = json.loads(words[words.index("-d") + 1])
    assert body == {"data": [dict.fromkeys(version.feature_names, 0.0)], "model_version": 3}


def test_card_holds_data_set_names_as_text_in_markdown_and_in_html(version: ModelVersion) -> None:
    hostile = dataclasses.replace(
        version,
        dataset_name=HOSTILE,
        feature_names=[HOSTILE, "a|b", "it's", "`"],
        feature_types=["number", "number", "string", "integer"],
        class_names=[HOSTILE, "x | y", "<b>"],
        metrics=dataclasses.replace(
            version.metrics,
            per_class=dict(
                zip([HOSTILE, "x | y", "<b>"], version.metrics.per_class.values(), strict=True)
            ),
        ),
        created_by="<img src=x onerror=alert(1)>",
    )
    markdown = model_card(hostile)
    html = MARKDOWN.render(markdown)
    tables = _tables(markdown)
    flat = " ".join(HOSTILE.split())

    # A renderer that lets raw HTML through finds none: every < is escaped.
    assert _raw_html(markdown) == []
    assert "<script" not in html
    assert "<img" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<a " not in html  # the link-like name is text, not a link
    # Each table keeps its columns; each cell renders as the name itself, on one line.
    assert [row[1] for row in tables["Features"][1:]] == [flat, "a|b", "it's", "`"]
    assert [row[1] for row in tables["Classes"][1:]] == [flat, "x | y", "<b>"]
    assert tables["Confusion matrix"][0][1:] == [
        f"predicted {flat}",
        "predicted x | y",
        "predicted <b>",
    ]
    assert all(len(row) == 4 for row in tables["Confusion matrix"])
    assert f"data set {flat}, trained with" in _sections(markdown)["# Model card of version 3"]
    # The request example still parses, with the names as they are.
    body = json.loads(_request_words(markdown)[-1])
    assert list(body["data"][0]) == hostile.feature_names
    assert body["data"][0] == {HOSTILE: 0.0, "a|b": 0.0, "it's": None, "`": 0}


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain name (cm)", "plain name (cm)"),
        ("a|b", "a\\|b"),
        ("<x>&", "\\<x\\>\\&"),
        ("two\nlines\r\tand tab", "two lines and tab"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_escape_backslashes_markdown_s_characters_and_joins_lines(text: str, escaped: str) -> None:
    assert escape(text) == escaped
