"""The Open Inference Protocol's routes before the model loads, and in the app's document."""

import json

from fastapi.testclient import TestClient

from mlapi.main import create_app
from mlapi.settings import Settings

INFER = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}


def test_until_the_model_loads_the_server_is_live_but_nothing_is_ready(
    settings: Settings,
) -> None:
    client = TestClient(create_app(settings))  # not started: the model never loads
    live = client.get("/v2/health/live")
    answers = [
        client.get("/v2/health/ready"),
        client.get("/v2/models/mlapi/ready"),
        client.get("/v2/models/mlapi"),
        client.post("/v2/models/mlapi/infer", json=INFER),
    ]
    assert (live.status_code, live.json()) == (200, {"live": True})
    assert [answer.status_code for answer in answers] == [503] * 4
    assert all(answer.headers["content-type"] == "application/json" for answer in answers)
    assert all(answer.headers["retry-after"] == "1" for answer in answers)
    assert answers[0].json() == {"error": "the model is still loading"}


def test_the_model_name_comes_from_the_settings(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"model_name": "churn"}))
    client = TestClient(app)
    assert client.post("/v2/models/mlapi/infer", json=INFER).status_code == 404
    assert client.post("/v2/models/churn/infer", json=INFER).status_code == 503  # not loaded


def test_a_body_without_media_type_is_json_here_only(settings: Settings) -> None:
    client = TestClient(create_app(settings))
    untyped = json.dumps(INFER).encode()
    assert client.post("/v2/models/mlapi/infer", content=untyped).status_code == 503  # read
    assert client.post("/v1/predict", content=untyped).status_code == 415


def test_invalid_requests_are_400_naming_the_field_in_the_protocols_error(
    settings: Settings,
) -> None:
    client = TestClient(create_app(settings))
    answer = client.post("/v2/models/mlapi/infer", json={"inputs": INFER["inputs"], "id": 7})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "The request has 1 invalid field. (#/id: Input should be a valid string)"
    }
    binary = client.post(
        "/v2/models/mlapi/infer",
        content=json.dumps(INFER).encode() + b"\x00\x00\x80?",
        headers={"Inference-Header-Content-Length": str(len(json.dumps(INFER)))},
    )
    assert binary.status_code == 400
    assert binary.json() == {"error": "the body has 4 bytes no input claims"}


def test_binary_tensors_bytes_are_no_json_to_the_depth_limit(settings: Settings) -> None:
    raw = b"[" * 8 * 40  # 40 FP64 elements whose bytes all look like opening brackets
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [10, 4],
                    "datatype": "FP64",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ]
        }
    ).encode()
    client = TestClient(create_app(settings))
    answer = client.post(
        "/v2/models/mlapi/infer",
        content=header + raw,
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    assert answer.json() == {"error": "the model is still loading"}  # read, up to the model
