"""Health probes: live at once, ready once a model is loaded."""

from fastapi.testclient import TestClient

from mlapi.main import create_app
from mlapi.settings import Settings
from tests.api.training import train_gradient_boosting


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


def test_registry_routes_are_503_until_the_registry_is_ready(settings: Settings) -> None:
    client = TestClient(create_app(settings))  # not started: nothing migrated or loaded
    for response in (
        client.get("/v1/models"),
        client.get("/v1/jobs"),
        client.post("/v1/train", json={}),
    ):
        assert response.status_code == 503
        assert response.json()["type"] == "urn:mlapi:problem:not-ready"


def test_ready_names_the_served_integer_version(shared_client: TestClient) -> None:
    ready = shared_client.get("/v1/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "model_version": 1}


def test_ready_names_a_newly_activated_version(client: TestClient) -> None:
    version = train_gradient_boosting(client)
    assert client.get("/v1/health/ready").json()["model_version"] == version
    client.post("/v1/models/1/activate")
    assert client.get("/v1/health/ready").json()["model_version"] == 1
