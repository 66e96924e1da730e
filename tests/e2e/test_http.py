"""The article's requests against a real server over HTTP, byte for byte."""

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.e2e.conftest import LiveServer

SETOSA_REQUEST = b'{"data": [[5.1, 3.5, 1.4, 0.2]]}'
JSON = {"content-type": "application/json"}


def test_article_predict_request_gets_article_answer_byte_for_byte(
    shared_server: LiveServer,
) -> None:
    with shared_server.client() as client:
        response = client.post("/predict", content=SETOSA_REQUEST, headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'{"prediction":[0],"probability":[[1.0,0.0,0.0]]}'


def test_predict_answers_one_row_per_observation(shared_server: LiveServer) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
    with shared_server.client() as client:
        body = client.post("/predict", json={"data": rows}).json()
    assert body["prediction"] == [0, 2, 1]
    assert len(body["probability"]) == 3
    assert all(sum(row) == pytest.approx(1.0) for row in body["probability"])


def test_v1_predict_names_labels_and_model_version(shared_server: LiveServer) -> None:
    with shared_server.client() as client:
        answer = client.post("/v1/predict", content=SETOSA_REQUEST, headers=JSON).json()
        model = client.get("/v1/model").json()
    assert answer["labels"] == ["setosa"]
    assert isinstance(answer["model_version"], int)
    assert answer["model_version"] == model["version"]
    assert answer["prediction"] == [0]


def test_v1_model_describes_the_active_registered_version(shared_server: LiveServer) -> None:
    with shared_server.client() as client:
        model = client.get("/v1/model").json()
        listed = client.get("/v1/models").json()
    assert model["version"] == 1
    assert model["active"] is True
    assert model["algorithm"] == "decision_tree"
    assert model["feature_names"] == [
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    ]
    assert model["class_names"] == ["setosa", "versicolor", "virginica"]
    assert model["metrics"]["accuracy"] == model["accuracy"]
    assert set(model["metrics"]["per_class"]) == {"setosa", "versicolor", "virginica"}
    file = shared_server.model_dir / "versions" / f"{model['checksum']}.skops"
    assert hashlib.sha256(file.read_bytes()).hexdigest() == model["checksum"]
    assert [item["version"] for item in listed["items"] if item["active"]] == [1]


def test_swagger_ui_and_openapi_are_served(shared_server: LiveServer) -> None:
    with shared_server.client() as client:
        docs = client.get("/docs")
        openapi = client.get("/openapi.json").json()
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
    assert openapi["info"]["title"] == "MLAPI Template"
    assert openapi["info"]["version"] == "1.0"
    assert {"/predict", "/train", "/v1/predict", "/v1/model"} <= set(openapi["paths"])


def test_train_answers_true_and_the_new_model_serves(server: LiveServer) -> None:
    with server.client() as client:
        before = client.get("/v1/model").json()
        response = client.post("/train?gradient_boosting=true")
        after = client.get("/v1/model").json()
        prediction = client.post("/predict", content=SETOSA_REQUEST, headers=JSON).json()
    assert response.status_code == 200
    assert response.content == b"true"
    assert before["algorithm"] == "decision_tree"
    assert after["algorithm"] == "gradient_boosting"
    assert after["version"] == before["version"] + 1
    assert after["active"] is True
    assert prediction["prediction"] == [0]
    file = server.model_dir / "versions" / f"{after['checksum']}.skops"
    assert hashlib.sha256(file.read_bytes()).hexdigest() == after["checksum"]


def test_trained_model_survives_a_restart(server_factory: Callable[..., LiveServer]) -> None:
    first = server_factory()
    with first.client() as client:
        assert client.post("/train").json() is True  # gradient boosting: test_http above
        trained = client.get("/v1/model").json()
    first.stop()
    second = server_factory(same_as=first)
    with second.client() as client:
        restarted = client.get("/v1/model").json()
    assert restarted["version"] == trained["version"] == 2
    assert restarted["checksum"] == trained["checksum"]


def test_health_probes_answer(shared_server: LiveServer) -> None:
    with shared_server.client() as client:
        live = client.get("/v1/health/live")
        ready = client.get("/v1/health/ready")
    assert live.json() == {"status": "ok", "model_version": None}
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_cli_predict_asks_a_running_server(shared_server: LiveServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlapi", "--url", shared_server.url, "predict", "5.1,3.5,1.4,0.2"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    answer = json.loads(result.stdout)
    assert answer["labels"] == ["setosa"]
    assert answer["probability"] == [[1.0, 0.0, 0.0]]
