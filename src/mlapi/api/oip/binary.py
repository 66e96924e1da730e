"""Triton's binary tensor data extension, for requests: tensors' elements as raw bytes.

tritonclient sends tensors this way unless told otherwise: the body is the inference
request's JSON, ``Inference-Header-Content-Length`` bytes long, then each input's
elements back to back, in the order of the inputs that say how many bytes they take
(their ``binary_data_size`` parameter). Numbers are little-endian, in their datatype's
width; each ``BYTES`` element is a 4-byte little-endian length, then that many bytes of
UTF-8 text.

:func:`inline_binary_tensors` writes such a body as the plain JSON request it stands
for, which the route then reads as any other; answers are always JSON. Pure functions.
"""

import struct
from typing import Any

import numpy as np
import orjson

from mlapi.ml.errors import InvalidInputError

#: The request header that gives the length of the JSON part.
HEADER = "inference-header-content-length"

#: The parameter of an input that gives the length of its elements' bytes.
SIZE_PARAMETER = "binary_data_size"

#: The little-endian numpy type of each numeric datatype.
_NUMBERS = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}


def inline_binary_tensors(body: bytes, header_length: str) -> bytes:
    """Turn a request body of JSON and binary tensors into the plain JSON request.

    Args:
        body: The whole request body.
        header_length: The ``Inference-Header-Content-Length`` header: the JSON part's size.

    Returns:
        The JSON request, each binary input given its elements as ``data``.

    Raises:
        InvalidInputError: If the header, the JSON part or the binary part is malformed:
            sizes that do not add up, elements that do not fit their datatype's width.
    """
    if not header_length.isdigit() or int(header_length) > len(body):
        raise InvalidInputError(
            f"Inference-Header-Content-Length must be the JSON part's size, at most {len(body)}"
        )
    split = int(header_length)
    try:
        request = orjson.loads(body[:split])
    except orjson.JSONDecodeError as error:
        raise InvalidInputError(f"the JSON part is not valid JSON: {error}") from None
    binary = memoryview(body)[split:]
    inputs = request.get("inputs") if isinstance(request, dict) else None
    offset = 0
    for tensor in inputs if isinstance(inputs, list) else []:
        parameters = tensor.get("parameters") if isinstance(tensor, dict) else None
        if not isinstance(parameters, dict) or SIZE_PARAMETER not in parameters:
            continue
        size = parameters.pop(SIZE_PARAMETER)
        if type(size) is not int or size < 0 or offset + size > len(binary):
            raise InvalidInputError(
                f"input '{tensor.get('name')}' has a {SIZE_PARAMETER} past the body's end"
            )
        tensor["data"] = _elements(tensor, bytes(binary[offset : offset + size]))
        offset += size
    if offset != len(binary):
        raise InvalidInputError(f"the body has {len(binary) - offset} bytes no input claims")
    return orjson.dumps(request)


def _elements(tensor: dict[str, Any], raw: bytes) -> list[Any]:
    datatype = tensor.get("datatype")
    if datatype == "BYTES":
        return _texts(tensor, raw)
    if datatype not in _NUMBERS:
        raise InvalidInputError(f"input '{tensor.get('name')}' has an unknown datatype")
    kind = np.dtype(_NUMBERS[datatype])
    if len(raw) % kind.itemsize:
        raise InvalidInputError(
            f"input '{tensor.get('name')}' has {len(raw)} bytes, not a whole number of "
            f"{datatype} elements"
        )
    elements: list[Any] = np.frombuffer(raw, dtype=kind).tolist()
    return elements


def _texts(tensor: dict[str, Any], raw: bytes) -> list[str]:
    texts, offset = [], 0
    try:
        while offset < len(raw):
            (length,) = struct.unpack_from("<I", raw, offset)
            end = offset + 4 + length
            if end > len(raw):
                raise ValueError("an element runs past the input's bytes")
            texts.append(raw[offset + 4 : end].decode())
            offset = end
    except (struct.error, ValueError) as error:  # UnicodeDecodeError is a ValueError
        message = f"input '{tensor.get('name')}' has malformed BYTES: {error}"
        raise InvalidInputError(message) from None
    return texts
