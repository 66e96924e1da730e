"""The Open Inference Protocol (``/v2``) against a real server, through tritonclient.

tritonclient's ``InferenceServerClient`` is a client nobody here wrote: what it reads
from the server is what Triton, KServe and MLServer users' code reads. One server is
shared by the whole module; nothing here changes its models.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from mlapi.ml import IrisClassifier
from tests.e2e.conftest import LiveServer

MODEL = "mlapi"


@pytest.fixture(scope="module")
def client(shared_server: LiveServer) -> Iterator[triton.InferenceServerClient]:
    """A tritonclient of the shared server."""
    client = triton.InferenceServerClient(shared_server.url.removeprefix("http://"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def http(shared_server: LiveServer) -> Iterator[httpx.Client]:
    """A plain HTTP client of the shared server."""
    with shared_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    """Every Iris observation: 150 rows of 4 features."""
    return IrisClassifier.dataset()["X"]


@pytest.fixture(scope="module")
def features(http: httpx.Client) -> list[str]:
    """The served model's feature names, as ``/v1/model`` says them."""
    names: list[str] = http.get("/v1/model").json()["feature_names"]
    return names


def v1_predict(http: httpx.Client, rows: np.ndarray) -> dict[str, Any]:
    """What ``/v1/predict`` answers for rows (as float64 numbers)."""
    response = http.post("/v1/predict", json={"data": rows.astype(np.float64).tolist()})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def matrix_input(rows: np.ndarray, datatype: str, name: str = "input-0") -> triton.InferInput:
    """One ``[rows, features]`` tensor, sent as JSON."""
    tensor = triton.InferInput(name, list(rows.shape), datatype)
    tensor.set_data_from_numpy(rows, binary_data=False)
    return tensor


def test_server_is_live_and_ready(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()


def test_server_metadata_names_mlapi(client: triton.InferenceServerClient) -> None:
    metadata = client.get_server_metadata()
    assert metadata["name"] == "mlapi"
    assert metadata["extensions"] == ["binary_tensor_data"]
    assert metadata["version"]


def test_model_metadata_has_an_input_per_feature_and_both_outputs(
    client: triton.InferenceServerClient, features: list[str]
) -> None:
    metadata = client.get_model_metadata(MODEL)
    assert metadata["name"] == MODEL
    assert metadata["versions"] == ["1"]
    assert metadata["platform"] == "scikit-learn"
    assert metadata["inputs"] == [
        {"name": name, "datatype": "FP64", "shape": [-1]} for name in features
    ]
    assert metadata["outputs"] == [
        {"name": "predict", "datatype": "INT64", "shape": [-1]},
        {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 3]},
    ]
    assert metadata["parameters"]["model_version"] == "1"
    assert client.get_model_metadata(MODEL, "1") == metadata


def test_model_is_ready_and_unknown_models_or_versions_are_not(
    client: triton.InferenceServerClient,
) -> None:
    assert client.is_model_ready(MODEL)
    assert client.is_model_ready(MODEL, "1")
    assert not client.is_model_ready("iris")
    assert not client.is_model_ready(MODEL, "99")


@pytest.mark.parametrize("datatype", ["FP32", "FP64"])
def test_infer_gives_the_probabilities_v1_predict_gives(
    client: triton.InferenceServerClient, http: httpx.Client, rows: np.ndarray, datatype: str
) -> None:
    sent = rows.astype(np.float32 if datatype == "FP32" else np.float64)
    result = client.infer(MODEL, [matrix_input(sent, datatype)], request_id="batch-1")
    expected = v1_predict(http, sent)  # the same numbers: FP32's, as float64
    assert result.get_response()["id"] == "batch-1"
    assert result.get_response()["model_version"] == "1"
    probability = result.as_numpy("predict_proba")
    assert probability.dtype == np.float64
    assert probability.shape == (150, 3)
    assert probability.tolist() == expected["probability"]
    assert result.as_numpy("predict").tolist() == expected["prediction"]


def test_infer_takes_a_tensor_per_feature_and_integers(
    client: triton.InferenceServerClient, http: httpx.Client, features: list[str]
) -> None:
    rows = np.array([[5, 3, 1, 0], [7, 3, 5, 2]], dtype=np.int32)
    tensors = []
    for name, column in zip(features, rows.T, strict=True):
        tensor = triton.InferInput(name, [2], "INT32")
        tensor.set_data_from_numpy(np.ascontiguousarray(column), binary_data=False)
        tensors.append(tensor)
    result = client.infer(MODEL, tensors[::-1])  # in any order: matched by name
    expected = v1_predict(http, rows)
    assert result.as_numpy("predict_proba").tolist() == expected["probability"]


def test_infer_answers_the_outputs_asked_for(
    client: triton.InferenceServerClient, rows: np.ndarray
) -> None:
    asked = [triton.InferRequestedOutput("predict_proba", binary_data=False)]
    result = client.infer(MODEL, [matrix_input(rows[:2], "FP64")], outputs=asked)
    assert [output["name"] for output in result.get_response()["outputs"]] == ["predict_proba"]
    assert result.as_numpy("predict") is None


def test_infer_names_classes_when_asked(
    client: triton.InferenceServerClient, http: httpx.Client, rows: np.ndarray
) -> None:
    sent = rows[[0, 60, 120]]
    result = client.infer(MODEL, [matrix_input(sent, "FP64")], parameters={"labels": True})
    predict = result.get_response()["outputs"][0]
    assert predict["datatype"] == "BYTES"
    assert result.as_numpy("predict").tolist() == v1_predict(http, sent)["labels"]


def test_infer_asks_a_given_version(client: triton.InferenceServerClient, rows: np.ndarray) -> None:
    result = client.infer(MODEL, [matrix_input(rows[:1], "FP64")], model_version="1")
    assert result.get_response()["model_version"] == "1"
    with pytest.raises(InferenceServerException) as missing:
        client.infer(MODEL, [matrix_input(rows[:1], "FP64")], model_version="99")
    assert missing.value.status() == "404"
    assert missing.value.message() == "model version 99 does not exist"


def error_of(client: triton.InferenceServerClient, *args: Any, **options: Any) -> Any:
    """The InferenceServerException an infer call raises."""
    with pytest.raises(InferenceServerException) as raised:
        client.infer(*args, **options)
    return raised.value


def test_tritonclient_reads_the_servers_message_for_each_error(
    client: triton.InferenceServerClient, rows: np.ndarray
) -> None:
    narrow = error_of(client, MODEL, [matrix_input(rows[:2, :3], "FP64")])
    assert narrow.status() == "400"
    assert "must have exactly 4 values" in narrow.message()

    flags = triton.InferInput("input-0", [1, 4], "BOOL")
    flags.set_data_from_numpy(np.ones((1, 4), dtype=bool), binary_data=False)
    boolean = error_of(client, MODEL, [flags])
    assert (boolean.status(), boolean.message()) == (
        "400",
        "input 'input-0' is BOOL: send features as numbers (FP*, INT*) or BYTES",
    )

    unknown = error_of(client, "iris", [matrix_input(rows[:1], "FP64")])
    assert (unknown.status(), unknown.message()) == (
        "404",
        "unknown model 'iris': this server serves 'mlapi'",
    )


def test_binary_tensors_tritonclients_default_give_the_same_answer(
    client: triton.InferenceServerClient, http: httpx.Client, rows: np.ndarray
) -> None:
    sent = rows.astype(np.float32)
    tensor = triton.InferInput("input-0", list(sent.shape), "FP32")
    tensor.set_data_from_numpy(sent)  # binary, as tritonclient sends it unless told
    asked = [triton.InferRequestedOutput(name) for name in ("predict", "predict_proba")]
    result = client.infer(MODEL, [tensor], outputs=asked)  # binary answers asked: JSON ones
    expected = v1_predict(http, sent)
    assert result.as_numpy("predict_proba").tolist() == expected["probability"]
    assert result.as_numpy("predict").tolist() == expected["prediction"]


@pytest.mark.parametrize(
    ("request_options", "status", "message"),
    [
        ({"content": b'{"inputs": ['}, 400, "The body is not valid JSON"),
        ({"json": {"inputs": []}}, 400, "#/inputs: List should have at least 1 item"),
        ({"json": {"inputs": [], "output": []}}, 400, "#/output: Extra inputs"),
        (
            {"content": b"rows", "headers": {"content-type": "text/plain"}},
            415,
            "Send the body as JSON",
        ),
        ({"content": b"x" * (2 * 1024 * 1024 + 1)}, 413, "over the 2097152-byte limit"),
    ],
)
def test_errors_are_the_protocols_json_error_object(
    http: httpx.Client, request_options: dict[str, Any], status: int, message: str
) -> None:
    response = http.post(f"/v2/models/{MODEL}/infer", **request_options)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert message in body["error"]


def test_unknown_paths_methods_and_versions_are_protocol_errors(http: httpx.Client) -> None:
    answers = {
        "unknown version": http.get(f"/v2/models/{MODEL}/versions/99"),
        "malformed version": http.get(f"/v2/models/{MODEL}/versions/v1"),
        "unknown path": http.get("/v2/repository/index"),
        "wrong method": http.delete(f"/v2/models/{MODEL}"),
    }
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "unknown version": 404,
        "malformed version": 400,
        "unknown path": 404,
        "wrong method": 405,
    }
    assert answers["unknown version"].json() == {"error": "model version 99 does not exist"}
    assert answers["wrong method"].headers["allow"] == "GET"
    assert all(list(answer.json()) == ["error"] for answer in answers.values())
