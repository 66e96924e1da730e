"""Example rows of a model's input: what a request to it looks like, for its documents.

Training records one row of the data set in the model's metadata (:func:`first_row`).
A model that recorded none (the bundled model, files written before mlapi recorded one)
gets, from :func:`example_row`, the first row of the bundled data set it was trained on
(the article's ``[5.1, 3.5, 1.4, 0.2]`` for Iris), else a placeholder of each
feature's type.

Values are JSON's: a float for a ``number`` column, an int for an ``integer`` one, text
for a ``string`` (categorical) one, None for a missing value. Pure functions.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlapi.ml import datasets
from mlapi.ml.metadata import ModelMetadata
from mlapi.ml.tabular import is_categorical, missing


@dataclass(frozen=True)
class ExampleRow:
    """A row a model takes, and whether its values are placeholders rather than data.

    Attributes:
        values: One value per feature, in column order.
        placeholder: True when no row of the model's data set is known: the values only
            show each feature's type.
    """

    values: list[Any]
    placeholder: bool = False


def first_row(features: np.ndarray, feature_types: Sequence[str]) -> list[Any]:
    """Pick the row a model trained on ``features`` records as its example.

    Args:
        features: The data set's feature matrix (float64, or objects with text columns),
            NaN where a value is missing.
        feature_types: The type of each column.

    Returns:
        The first row with no value missing (the first row if every row misses one), as
        JSON values.
    """
    complete = ~missing(features).any(axis=1)
    index = int(complete.argmax()) if complete.any() else 0
    row = zip(features[index].tolist(), feature_types, strict=True)
    return [_json_value(value, kind) for value, kind in row]


def example_row(metadata: ModelMetadata, *, recorded: bool = True) -> ExampleRow:
    """Give a row that the model ``metadata`` describes takes, from its data set if known.

    Args:
        metadata: The model's description.
        recorded: Whether the row recorded at training may be used (False where the
            training data is confidential).

    Returns:
        The row recorded at training, if allowed; else the first complete row of the
        bundled data set the model was trained on, if it was (same name and checksum);
        else :func:`placeholder_row`.
    """
    row = _checked(metadata.example_row, metadata.feature_types) if recorded else None
    if row is not None:
        return ExampleRow(row)
    if metadata.dataset_name in datasets.BUNDLED and metadata.dataset_url is None:
        data = datasets.bundled(metadata.dataset_name)
        if data["checksum"] == metadata.dataset_checksum:
            return ExampleRow(first_row(data["X"], data["feature_types"]))
    return ExampleRow(placeholder_row(metadata.feature_types), placeholder=True)


def placeholder_row(feature_types: Sequence[str]) -> list[Any]:
    """Build a row of placeholders: 0.0 per ``number``, 0 per ``integer``, None per ``string``.

    Any model takes it: a model with a categorical column fills in missing values.
    """
    return [None if is_categorical(kind) else _json_value(0, kind) for kind in feature_types]


def _json_value(value: Any, kind: str) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if is_categorical(kind):
        return str(value)
    number = float(value)
    return int(number) if kind == "integer" and number.is_integer() else number


def _checked(row: Any, feature_types: Sequence[str]) -> list[Any] | None:
    """A recorded row if it has the model's width and JSON values, normalised; else None."""
    if not isinstance(row, list) or len(row) != len(feature_types):
        return None
    scalars = (str, int, float, type(None))
    if not all(isinstance(value, scalars) and not isinstance(value, bool) for value in row):
        return None
    try:
        values = [_json_value(value, kind) for value, kind in zip(row, feature_types, strict=True)]
    except (ValueError, OverflowError):  # text in a numeric column
        return None
    if any(isinstance(value, float) and not math.isfinite(value) for value in values):
        return None
    return values
