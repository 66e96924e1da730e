"""The Open Inference Protocol's REST messages, as pydantic models (named as MLServer's).

Requests are checked as the protocol's JSON schemas say, and no more: that a tensor's
data fit its shape and datatype, and its columns the model, is the codecs' to check
(:mod:`mlapi.api.oip.codecs`). Unknown fields are refused, so that a misspelt one
(``"output"`` for ``"outputs"``) is not ignored without a word.
"""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic.json_schema import WithJsonSchema


class Datatype(StrEnum):
    """The datatype of a tensor's elements, as the protocol names them."""

    BOOL = "BOOL"
    UINT8 = "UINT8"
    UINT16 = "UINT16"
    UINT32 = "UINT32"
    UINT64 = "UINT64"
    INT8 = "INT8"
    INT16 = "INT16"
    INT32 = "INT32"
    INT64 = "INT64"
    FP16 = "FP16"
    FP32 = "FP32"
    FP64 = "FP64"
    BYTES = "BYTES"


#: Name and value pairs of a request, an input or an output; values are scalars.
Parameters = dict[str, StrictStr | StrictBool | StrictInt | StrictFloat]

_SCALAR: dict[str, Any] = {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]}

#: A tensor's elements in row-major order: flat, or nested as its shape (up to 2-D here).
#: Checked against the shape and datatype by the codecs, in one pass over the numbers.
TensorData = Annotated[
    list[Any],
    WithJsonSchema(
        {
            "type": "array",
            "items": {"anyOf": [*_SCALAR["anyOf"], {"type": "array", "items": _SCALAR}]},
            "description": "The elements in row-major order, flat or nested as the shape.",
        }
    ),
]

#: A tensor's shape: a size per dimension.
Shape = list[Annotated[int, Field(ge=0, le=2**63 - 1)]]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class RequestInput(_Message):
    """An input tensor of an inference request."""

    name: str
    """The input's name: any name for one ``[rows, features]`` tensor, else a feature's."""
    shape: Shape
    """Its shape: ``[rows, features]``, or ``[rows]`` (or ``[rows, 1]``) for one feature."""
    datatype: Datatype
    """Its elements' datatype: ``FP16``, ``FP32`` or ``FP64``, an integer type whose
    values are exact as floats, or ``BYTES`` (text) for categorical features."""
    parameters: Parameters | None = None
    """Parameters of the input; none is used."""
    data: TensorData
    """Its elements."""


class RequestOutput(_Message):
    """An output asked for by an inference request."""

    name: str
    """``predict`` or ``predict_proba``."""
    parameters: Parameters | None = None
    """Parameters of the output; none is used (``binary_data`` is answered as JSON)."""


class InferenceRequest(_Message):
    """An inference request: the input tensors, and which outputs to answer."""

    id: str | None = None
    """An identifier of the request, echoed in the answer."""
    parameters: Parameters | None = None
    """Parameters of the request: ``labels: true`` answers ``predict`` as class names."""
    inputs: Annotated[list[RequestInput], Field(min_length=1)]
    """One ``[rows, features]`` tensor, or one tensor per feature named after it."""
    outputs: list[RequestOutput] | None = None
    """The outputs to answer, in this order; both if none is named."""


class ResponseOutput(_Message):
    """An output tensor of an inference answer."""

    name: str
    """``predict`` or ``predict_proba``."""
    shape: Shape
    """``[rows]`` for ``predict``, ``[rows, classes]`` for ``predict_proba``."""
    datatype: Datatype
    """``INT64`` class indices or ``BYTES`` class names; ``FP64`` probabilities."""
    parameters: Parameters | None = None
    """Parameters of the output; none is set."""
    data: TensorData
    """Its elements, flat, in row-major order."""


class InferenceResponse(_Message):
    """The answer to an inference request."""

    model_name: str
    """The model's name."""
    model_version: str | None = None
    """The model version that answered."""
    id: str | None = None
    """The request's ``id``, if it had one."""
    parameters: Parameters | None = None
    """Parameters of the answer; none is set."""
    outputs: list[ResponseOutput]
    """The outputs asked for."""


class MetadataTensor(_Message):
    """The name, datatype and shape of a model's input or output (-1: any size)."""

    name: str
    """Its name: a feature's for an input."""
    datatype: Datatype
    """Its elements' datatype."""
    shape: list[int]
    """Its shape; -1 stands for the number of rows."""


class MetadataModelResponse(_Message):
    """What a model takes and answers."""

    name: str
    """The model's name."""
    versions: list[str]
    """The registered versions, which may be asked for by number, newest first."""
    platform: str
    """The library the model runs on."""
    inputs: list[MetadataTensor]
    """One input per feature, in the model's column order."""
    outputs: list[MetadataTensor]
    """``predict`` and ``predict_proba``."""
    parameters: Parameters
    """The version described (``model_version``), its ``algorithm`` and ``dataset``."""


class MetadataServerResponse(_Message):
    """What the server is."""

    name: str
    """The server's name."""
    version: str
    """The server's version."""
    extensions: list[str]
    """The protocol extensions it supports: ``binary_tensor_data`` (for requests)."""


class ServerLiveResponse(_Message):
    """The server answers."""

    live: bool
    """Always true: a server that is not live does not answer."""


class ServerReadyResponse(_Message):
    """The server's model is loaded and answers."""

    ready: bool
    """True; a server not ready answers 503."""


class ModelReadyResponse(_Message):
    """A model (or version) answers inference requests."""

    name: str
    """The model's name."""
    ready: bool
    """True; a model not ready answers 503."""


class InferenceErrorResponse(_Message):
    """An error, as the protocol says them."""

    error: str
    """What is wrong."""
