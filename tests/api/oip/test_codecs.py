"""Tensors to rows and back: datatypes, shapes, the two ways to send rows, the answer."""

import re
from typing import Any

import numpy as np
import orjson
import pytest

from mlapi.api.oip.codecs import (
    decode_rows,
    decode_tensor,
    encode_response,
    labels_asked,
    requested_outputs,
)
from mlapi.api.oip.types import InferenceRequest, RequestInput
from mlapi.ml.errors import InvalidInputError


def tensor(data: list[Any], shape: list[int], datatype: str = "FP64", name: str = "x") -> Any:
    return RequestInput(name=name, shape=shape, datatype=datatype, data=data)  # type: ignore[arg-type]


def request(**fields: Any) -> InferenceRequest:
    return InferenceRequest.model_validate({"inputs": [tensor([1.0], [1, 1])], **fields})


def test_flat_and_nested_data_make_the_same_matrix() -> None:
    flat = decode_tensor(tensor([1, 2, 3, 4, 5, 6], [2, 3]))
    nested = decode_tensor(tensor([[1, 2, 3], [4, 5, 6]], [2, 3]))
    assert flat.dtype == np.float64
    assert flat.tolist() == nested.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_fp32_values_are_read_at_fp32_precision() -> None:
    decoded = decode_tensor(tensor([5.1], [1], "FP32"))
    assert decoded.tolist() == [float(np.float32(5.1))]
    assert decoded.tolist() != [5.1]
    assert decode_tensor(tensor([5.1], [1], "FP64")).tolist() == [5.1]


@pytest.mark.parametrize(
    ("datatype", "value"), [("FP16", 70000.0), ("FP32", 1e39), ("INT8", 128), ("UINT8", -1)]
)
def test_values_out_of_their_datatypes_range_are_refused(datatype: str, value: float) -> None:
    with pytest.raises(InvalidInputError, match=f"out of the range of {datatype}"):
        decode_tensor(tensor([value], [1], datatype))


def test_integers_are_taken_while_exact_as_floats() -> None:
    assert decode_tensor(tensor([2**53, -(2**53)], [2], "INT64")).tolist() == [2.0**53, -(2.0**53)]
    with pytest.raises(InvalidInputError, match="beyond 2\\*\\*53"):
        decode_tensor(tensor([2**53 + 1], [1], "INT64"))
    with pytest.raises(InvalidInputError, match="beyond 2\\*\\*53"):
        decode_tensor(tensor([2**64 - 1], [1], "UINT64"))


def test_an_integer_past_any_float_is_out_of_fp64s_range() -> None:
    with pytest.raises(InvalidInputError, match="out of the range of FP64"):
        decode_tensor(tensor([10**400], [1], "FP64"))


@pytest.mark.parametrize(
    ("data", "datatype", "message"),
    [
        ([1.5], "INT32", "INT32: its elements must be integers"),
        ([True], "INT32", "INT32: its elements must be integers"),
        ([1, True], "FP64", "FP64: its elements must be numbers"),
        (["5.1"], "FP32", "FP32: its elements must be numbers"),
        ([None], "FP64", "FP64: its elements must be numbers"),
        ([1], "BYTES", "BYTES: its elements must be strings"),
        ([True], "BOOL", "is BOOL: send features as numbers"),
        (["x" * 1001], "BYTES", "a string over 1000 characters"),
    ],
)
def test_elements_of_another_type_than_the_datatype_are_refused(
    data: list[Any], datatype: str, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        decode_tensor(tensor(data, [len(data)], datatype, name="sepal"))


def test_the_error_names_the_input() -> None:
    with pytest.raises(InvalidInputError) as refused:
        decode_tensor(tensor([1], [1], "BOOL", name="petal width"))
    assert str(refused.value).startswith("input 'petal width' is BOOL")


@pytest.mark.parametrize(
    ("data", "shape"), [([1, 2, 3], [2, 2]), ([[1, 2], [3]], [2, 2]), ([1, 2], [1])]
)
def test_data_must_fill_the_shape_exactly(data: list[Any], shape: list[int]) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(f"its shape {shape} holds")):
        decode_tensor(tensor(data, shape))


def test_bytes_become_text_cells() -> None:
    decoded = decode_tensor(tensor(["red", "blue"], [2, 1], "BYTES"))
    assert decoded.dtype == object
    assert decoded.tolist() == [["red"], ["blue"]]


def test_one_two_dimensional_tensor_is_the_matrix_whatever_its_name() -> None:
    rows = decode_rows([tensor([1, 2, 3, 4], [2, 2], name="anything")])
    assert isinstance(rows, np.ndarray)
    assert rows.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_tensors_per_feature_become_rows_keyed_by_feature() -> None:
    rows = decode_rows(
        [
            tensor([1, 2], [2], "INT64", name="size"),
            tensor(["red", "blue"], [2, 1], "BYTES", name="colour"),
        ]
    )
    assert rows == [{"size": 1.0, "colour": "red"}, {"size": 2.0, "colour": "blue"}]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([tensor([], [0, 4])], "has no rows"),
        ([tensor([], [0], name="a"), tensor([], [0], name="b")], "no rows"),
        ([tensor([1, 2], [2], name="a"), tensor([1], [1], name="b")], "different numbers of rows"),
        ([tensor([1], [1], name="a"), tensor([1], [1], name="a")], "input 'a' is given twice"),
        ([tensor([1, 2], [1, 2], name="a"), tensor([1], [1], name="b")], "has shape [1, 2]"),
        ([tensor([1], [1, 1, 1])], "has shape [1, 1, 1]"),
    ],
)
def test_inputs_that_make_no_rows_are_refused(inputs: list[RequestInput], message: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        decode_rows(inputs)
    assert message in str(refused.value)


def test_outputs_are_both_by_default_else_those_named_in_order() -> None:
    assert requested_outputs(request()) == ["predict", "predict_proba"]
    named = request(outputs=[{"name": "predict_proba"}, {"name": "predict"}])
    assert requested_outputs(named) == ["predict_proba", "predict"]


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ([{"name": "probabilities"}], "unknown output 'probabilities'"),
        ([{"name": "predict"}, {"name": "predict"}], "named twice"),
    ],
)
def test_unknown_or_repeated_outputs_are_refused(
    outputs: list[dict[str, str]], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        requested_outputs(request(outputs=outputs))


def test_labels_are_asked_with_a_boolean_parameter() -> None:
    assert not labels_asked(request())
    assert labels_asked(request(parameters={"labels": True}))
    assert not labels_asked(request(parameters={"binary_data_output": True}))
    with pytest.raises(InvalidInputError, match="must be true or false"):
        labels_asked(request(parameters={"labels": "yes"}))


def test_the_answer_holds_indices_and_probabilities_flat_with_their_shapes() -> None:
    probability = np.array([[0.25, 0.75], [1.0, 0.0]])
    answer = orjson.loads(
        encode_response(
            "mlapi", 3, "42", ["predict", "predict_proba"], np.array([1, 0]), probability, None
        )
    )
    assert answer == {
        "model_name": "mlapi",
        "model_version": "3",
        "id": "42",
        "outputs": [
            {"name": "predict", "shape": [2], "datatype": "INT64", "data": [1, 0]},
            {
                "name": "predict_proba",
                "shape": [2, 2],
                "datatype": "FP64",
                "data": [0.25, 0.75, 1.0, 0.0],
            },
        ],
    }


def test_the_answer_names_classes_when_given_and_has_no_id_unless_asked() -> None:
    answer = orjson.loads(
        encode_response("m", 1, None, ["predict"], np.array([1]), np.ones((1, 2)), ["virginica"])
    )
    assert "id" not in answer
    assert answer["outputs"] == [
        {"name": "predict", "shape": [1], "datatype": "BYTES", "data": ["virginica"]}
    ]
