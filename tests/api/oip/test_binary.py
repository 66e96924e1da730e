"""Binary tensors (Triton's extension) become the plain JSON request they stand for."""

import struct
from typing import Any

import numpy as np
import orjson
import pytest

from mlapi.api.oip.binary import inline_binary_tensors
from mlapi.ml.errors import InvalidInputError


def binary_body(inputs: list[dict[str, Any]], *raws: bytes) -> tuple[bytes, str]:
    """A body as tritonclient writes it, and its Inference-Header-Content-Length."""
    header = orjson.dumps({"inputs": inputs})
    return header + b"".join(raws), str(len(header))


def sized(name: str, datatype: str, shape: list[int], raw: bytes) -> dict[str, Any]:
    return {
        "name": name,
        "shape": shape,
        "datatype": datatype,
        "parameters": {"binary_data_size": len(raw)},
    }


def texts(*values: str) -> bytes:
    return b"".join(struct.pack("<I", len(value.encode())) + value.encode() for value in values)


def test_numbers_and_texts_become_data_in_order() -> None:
    rows = np.array([[5.1, 3.5], [6.7, 3.0]], dtype=np.float32)
    colours = texts("red", "bleu ciel")
    body, length = binary_body(
        [
            sized("x", "FP32", [2, 2], rows.tobytes()),
            {"name": "n", "shape": [2], "datatype": "INT64", "data": [1, 2]},
            sized("colour", "BYTES", [2], colours),
        ],
        rows.tobytes(),
        colours,
    )

    request = orjson.loads(inline_binary_tensors(body, length))

    x, n, colour = request["inputs"]
    assert x["data"] == rows.reshape(-1).tolist()
    assert x["parameters"] == {}
    assert n["data"] == [1, 2]
    assert colour["data"] == ["red", "bleu ciel"]


def test_a_body_without_binary_inputs_is_its_json() -> None:
    body, length = binary_body([{"name": "x", "shape": [1], "datatype": "FP64", "data": [1.5]}])
    assert orjson.loads(inline_binary_tensors(body, length)) == orjson.loads(body)


@pytest.mark.parametrize(
    ("body", "length", "message"),
    [
        (b'{"inputs": []}', "99", "must be the JSON part's size"),
        (b'{"inputs": []}', "-1", "must be the JSON part's size"),
        (b'{"inputs": [', "12", "not valid JSON"),
        (b'{"inputs": []}xx', "14", "2 bytes no input claims"),
    ],
)
def test_malformed_framing_is_refused(body: bytes, length: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        inline_binary_tensors(body, length)


def test_sizes_past_the_end_or_of_partial_elements_are_refused() -> None:
    past, length = binary_body([sized("x", "FP64", [1], b"\x00" * 16)], b"\x00" * 8)
    with pytest.raises(InvalidInputError, match="past the body's end"):
        inline_binary_tensors(past, length)
    partial, length = binary_body([sized("x", "FP64", [1], b"\x00" * 6)], b"\x00" * 6)
    with pytest.raises(InvalidInputError, match="6 bytes, not a whole number of FP64"):
        inline_binary_tensors(partial, length)


@pytest.mark.parametrize("raw", [b"\x05\x00\x00\x00abc", b"\x01\x00", b"\x02\x00\x00\x00\xff\xfe"])
def test_malformed_bytes_elements_are_refused(raw: bytes) -> None:
    body, length = binary_body([sized("colour", "BYTES", [1], raw)], raw)
    with pytest.raises(InvalidInputError, match="input 'colour' has malformed BYTES"):
        inline_binary_tensors(body, length)
