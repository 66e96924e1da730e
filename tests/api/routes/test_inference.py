"""The Open Inference Protocol's routes before the model loads, and in the app's document."""

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
