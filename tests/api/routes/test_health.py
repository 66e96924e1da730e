"""Health probes: live at once, ready once a model is loaded."""

from fastapi.testclient import TestClient

from mlapi.main import create_app
from mlapi.settings import Settings


def test_ready_is_503_problem_until_a_model_is_loaded(settings: Settings) -> None:
    app = create_app(settings)
    client = TestClient(app)  # not started: the model never loads
    live = client.get("/v1/health/live")
    ready = client.get("/v1/health/ready")
    predict = client.post("/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]})
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.headers["retry-after"] == "1"
    assert predict.status_code == 503
    assert predict.json()["type"] == "urn:mlapi:problem:not-ready"


def test_ready_names_the_model_once_loaded(client: TestClient) -> None:
    ready = client.get("/v1/health/ready")
    assert ready.status_code == 200
    assert ready.json()["model_version"] == client.get("/v1/model").json()["version"]
