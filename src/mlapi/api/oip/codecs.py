"""Tensors to rows and back: what the Open Inference Protocol's inputs mean to a model.

A request gives its rows in one of two ways:

* **one tensor of shape** ``[rows, features]``, the columns in the model's order (as
  :attr:`~mlapi.serving.records.ModelVersion.feature_names` lists them), whatever its
  name: a numeric matrix for numeric features, or ``BYTES`` for text ones;
* **one tensor per feature**, named after it, of shape ``[rows]`` or ``[rows, 1]``:
  each feature with its own datatype, so a model of numbers and categories takes its
  numbers as numbers and its categories as ``BYTES``.

Numbers arrive as float64, as the model takes them: ``FP16``, ``FP32`` and ``FP64``
values are read at their datatype's precision (an ``FP32`` 5.1 is 5.099999904632568, as
the client meant); integer types are taken where every value is exact as a float64
(within the type's range, and at most 2**53 in magnitude). ``BOOL`` is refused.

The answer's tensors: ``predict`` (``INT64`` class indices, or ``BYTES`` class names
when the request's ``labels`` parameter is true) and ``predict_proba`` (``FP64``
probabilities, ``[rows, classes]``).

Every error is an :class:`~mlapi.ml.errors.InvalidInputError` naming the input at
fault, answered 400. Pure functions of their inputs.
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from mlapi.api.oip.types import Datatype, InferenceRequest, RequestInput
from mlapi.ml.errors import InvalidInputError

#: The two outputs of every model, in the order answered when none is named.
OUTPUTS = ("predict", "predict_proba")

#: The request parameter that asks for class names in ``predict``.
LABELS_PARAMETER = "labels"

#: Longest text element taken, as the JSON rows of ``/v1/predict`` take.
MAX_TEXT_LENGTH = 1000

#: Largest magnitude of an integer that every float64 holds exactly.
MAX_EXACT_INTEGER = 2**53

_FLOATS: dict[Datatype, type[np.floating[Any]]] = {
    Datatype.FP16: np.float16,
    Datatype.FP32: np.float32,
    Datatype.FP64: np.float64,
}

_INTEGERS: dict[Datatype, type[np.integer[Any]]] = {
    Datatype.INT8: np.int8,
    Datatype.INT16: np.int16,
    Datatype.INT32: np.int32,
    Datatype.INT64: np.int64,
    Datatype.UINT8: np.uint8,
    Datatype.UINT16: np.uint16,
    Datatype.UINT32: np.uint32,
    Datatype.UINT64: np.uint64,
}

#: The datatype of a model input by feature type (``number``, ``integer``, ``string``).
FEATURE_DATATYPES = {"number": Datatype.FP64, "integer": Datatype.INT64, "string": Datatype.BYTES}


def _refuse(tensor: RequestInput, message: str) -> InvalidInputError:
    return InvalidInputError(f"input '{tensor.name}' {message}")


def _flat(data: list[Any]) -> list[Any]:
    """The elements of tensor data given flat or nested (ragged nesting is caught by count)."""
    if not any(type(value) is list for value in data):
        return data
    flat: list[Any] = []
    for value in data:
        if type(value) is list:
            flat.extend(_flat(value))
        else:
            flat.append(value)
    return flat


def decode_tensor(tensor: RequestInput) -> np.ndarray:
    """Read an input tensor's elements as an array of its shape, as a model takes them.

    Returns:
        float64 for the numeric datatypes, objects (``str``) for ``BYTES``.

    Raises:
        InvalidInputError: If the elements do not fill the shape, are not of the
            datatype, or cannot be taken exactly (``BOOL``, integers past 2**53).
    """
    values = _flat(tensor.data)
    size = math.prod(tensor.shape)
    if len(values) != size:
        raise _refuse(tensor, f"has {len(values)} elements; its shape {tensor.shape} holds {size}")
    kinds = set(map(type, values))
    datatype = tensor.datatype
    if datatype is Datatype.BYTES:
        if not kinds <= {str}:
            raise _refuse(tensor, "is BYTES: its elements must be strings")
        if any(len(value) > MAX_TEXT_LENGTH for value in values):
            raise _refuse(tensor, f"has a string over {MAX_TEXT_LENGTH} characters")
        array = np.empty(size, dtype=object)
        array[:] = values
    elif datatype in _FLOATS:
        if not kinds <= {int, float}:
            raise _refuse(tensor, f"is {datatype}: its elements must be numbers")
        try:
            numbers = np.asarray(values, dtype=np.float64)
        except OverflowError:  # an integer beyond any float
            raise _refuse(tensor, f"has a value out of the range of {datatype}") from None
        array = _at_precision(tensor, numbers, _FLOATS[datatype])
    elif datatype in _INTEGERS:
        if not kinds <= {int}:
            raise _refuse(tensor, f"is {datatype}: its elements must be integers")
        array = _exact_integers(tensor, values, _INTEGERS[datatype])
    else:
        raise _refuse(tensor, f"is {datatype}: send features as numbers (FP*, INT*) or BYTES")
    return array.reshape(tensor.shape)


def _at_precision(
    tensor: RequestInput, values: np.ndarray, precision: type[np.floating[Any]]
) -> np.ndarray:
    if precision is np.float64:
        return values
    with np.errstate(over="ignore"):
        narrowed = values.astype(precision)
    if np.any(np.isinf(narrowed) & np.isfinite(values)):
        raise _refuse(tensor, f"has a value out of the range of {tensor.datatype}")
    return narrowed.astype(np.float64)


def _exact_integers(
    tensor: RequestInput, values: list[int], kind: type[np.integer[Any]]
) -> np.ndarray:
    if values:
        limits = np.iinfo(kind)
        low, high = min(values), max(values)
        if low < limits.min or high > limits.max:
            raise _refuse(tensor, f"has a value out of the range of {tensor.datatype}")
        if max(-low, high) > MAX_EXACT_INTEGER:
            raise _refuse(tensor, "has an integer beyond 2**53, which a float cannot hold")
    return np.asarray(values, dtype=np.float64)


def decode_rows(inputs: Sequence[RequestInput]) -> np.ndarray | list[dict[str, Any]]:
    """Turn a request's input tensors into rows for the service layer.

    Returns:
        One ``[rows, features]`` tensor as its matrix (float64, or objects for
        ``BYTES``); tensors per feature as one object per row, keyed by feature name,
        which the model's own check puts in its column order (naming a missing or
        unknown feature).

    Raises:
        InvalidInputError: If a tensor's elements do not fit it, the tensors are of
            other shapes, name a feature twice, or have different numbers of rows, or
            there are no rows.
    """
    if len(inputs) == 1 and len(inputs[0].shape) == 2:
        matrix = decode_tensor(inputs[0])
        if not len(matrix):
            raise _refuse(inputs[0], "has no rows")
        return matrix
    columns: dict[str, list[Any]] = {}
    for tensor in inputs:
        shape = tensor.shape
        if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            raise _refuse(
                tensor,
                f"has shape {shape}: send one tensor of shape [rows, features], or one "
                "tensor per feature, named after it, of shape [rows] or [rows, 1]",
            )
        if tensor.name in columns:
            raise _refuse(tensor, "is given twice")
        columns[tensor.name] = decode_tensor(tensor).reshape(-1).tolist()
    counts = {len(column) for column in columns.values()}
    if len(counts) > 1:
        raise InvalidInputError(f"the inputs have different numbers of rows: {sorted(counts)}")
    if counts == {0}:
        raise InvalidInputError("the inputs have no rows")
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def requested_outputs(request: InferenceRequest) -> list[str]:
    """Say which outputs to answer, in order: those named, else both.

    Raises:
        InvalidInputError: If an output is not the model's, or is named twice.
    """
    if not request.outputs:
        return list(OUTPUTS)
    names = [output.name for output in request.outputs]
    unknown = [name for name in names if name not in OUTPUTS]
    if unknown:
        raise InvalidInputError(f"unknown output '{unknown[0]}': the outputs are {list(OUTPUTS)}")
    if len(set(names)) != len(names):
        raise InvalidInputError("an output is named twice")
    return names


def labels_asked(request: InferenceRequest) -> bool:
    """Say whether the request asks for class names in ``predict`` (parameter ``labels``).

    Raises:
        InvalidInputError: If the parameter is not a boolean.
    """
    asked = (request.parameters or {}).get(LABELS_PARAMETER, False)
    if not isinstance(asked, bool):
        raise InvalidInputError(f"the parameter '{LABELS_PARAMETER}' must be true or false")
    return asked


def encode_response(
    model_name: str,
    model_version: int,
    request_id: str | None,
    outputs: Sequence[str],
    prediction: np.ndarray,
    probability: np.ndarray,
    labels: list[str] | None,
) -> bytes:
    """Write the answer to an inference request as JSON.

    Args:
        model_name: The model's name.
        model_version: The version that predicted.
        request_id: The request's ``id``, echoed if it had one.
        outputs: The outputs to answer, in order (as :func:`requested_outputs` says).
        prediction: The class index of each row.
        probability: The probability of each class, per row.
        labels: The class name of each row, to answer ``predict`` with; None for indices.

    Returns:
        The :class:`~mlapi.api.oip.types.InferenceResponse`'s JSON.
    """
    rows = len(prediction)
    predict: dict[str, Any]
    if labels is not None:
        predict = {"name": "predict", "shape": [rows], "datatype": "BYTES", "data": labels}
    else:
        classes = np.asarray(prediction, dtype=np.int64)
        predict = {"name": "predict", "shape": [rows], "datatype": "INT64", "data": classes}
    tensors = {
        "predict": predict,
        "predict_proba": {
            "name": "predict_proba",
            "shape": list(probability.shape),
            "datatype": "FP64",
            "data": np.ascontiguousarray(probability, dtype=np.float64).reshape(-1),
        },
    }
    answer: dict[str, Any] = {"model_name": model_name, "model_version": str(model_version)}
    if request_id is not None:
        answer["id"] = request_id
    answer["outputs"] = [tensors[name] for name in outputs]
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
