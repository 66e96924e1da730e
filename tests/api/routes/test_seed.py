"""The article's routes: same requests, same answers."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from mlapi.main import app
from tests.api.conftest import registry_settings, started
from tests.api.training import JOB_SECONDS, SETOSA, train_gradient_boosting


def test_module_level_app_is_the_articles() -> None:
    assert app.title == "MLAPI Template"
    assert app.version == "1.0"


def test_predict_answers_the_articles_json(shared_client: TestClient) -> None:
    response = shared_client.post("/predict", json={"data": [SETOSA]})
    assert response.status_code == 200
    assert response.content == b'{"prediction":[0],"probability":[[1.0,0.0,0.0]]}'


def test_predict_accepts_integers_as_numbers(shared_client: TestClient) -> None:
    response = shared_client.post("/predict", json={"data": [[5, 3, 1, 0]]})
    assert response.json()["prediction"] == [0]


def test_predict_refuses_model_version(shared_client: TestClient) -> None:
    response = shared_client.post("/predict", json={"data": [SETOSA], "model_version": 1})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/model_version"


def test_predict_accepts_json_with_charset(shared_client: TestClient) -> None:
    response = shared_client.post(
        "/predict",
        content=b'{"data": [[6.7, 3.0, 5.2, 2.3]]}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.json()["prediction"] == [2]


def test_large_batches_are_predicted_off_the_event_loop_with_same_answers(
    shared_client: TestClient,
) -> None:
    rows = [SETOSA, [6.7, 3.0, 5.2, 2.3]] * 1000
    body = shared_client.post("/predict", json={"data": rows}).json()
    assert body["prediction"] == [0, 2] * 1000


def test_train_without_flag_trains_and_activates_a_decision_tree(client: TestClient) -> None:
    response = client.post("/train")
    assert response.status_code == 200
    assert response.content == b"true"
    model = client.get("/v1/model").json()
    assert model["algorithm"] == "decision_tree"
    assert model["version"] == 2
    assert model["created_by"] == "api /train"


def test_train_with_gradient_boosting_answers_true_and_swaps_the_served_model(
    client: TestClient,
) -> None:
    before = client.post("/predict", json={"data": [SETOSA]}).json()
    response = client.post("/train", params={"gradient_boosting": "true"})
    assert response.status_code == 200
    assert response.content == b"true"
    model = client.get("/v1/model").json()
    assert model["algorithm"] == "gradient_boosting"
    assert model["version"] == 2
    after = client.post("/predict", json={"data": [SETOSA]}).json()
    assert after["prediction"] == [0]
    assert after["probability"] != before["probability"]


def test_train_is_recorded_as_a_finished_job(client: TestClient) -> None:
    client.post("/train", params={"gradient_boosting": "true"})
    jobs = client.get("/v1/jobs").json()
    assert jobs["total"] == 1
    job = jobs["items"][0]
    assert job["state"] == "succeeded"
    assert job["algorithm"] == "gradient_boosting"
    assert job["model_version"] == 2


def test_train_refuses_a_misspelt_flag(shared_client: TestClient) -> None:
    response = shared_client.post("/train", params={"gradient_boost": "true"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "gradient_boost"
    assert shared_client.get("/v1/jobs").json()["total"] == 0


def test_train_applies_configured_hyperparameters(settings_with_defaults: TestClient) -> None:
    assert settings_with_defaults.post("/train", params={"gradient_boosting": "true"}).json()
    model = settings_with_defaults.get("/v1/model").json()
    assert model["hyperparameters"]["n_estimators"] == 7


def test_rollback_through_the_api_changes_what_predict_answers(client: TestClient) -> None:
    bundled = client.post("/predict", json={"data": [SETOSA]}).json()
    version = train_gradient_boosting(client)
    boosted = client.post("/predict", json={"data": [SETOSA]}).json()
    assert boosted["probability"] != bundled["probability"]

    assert client.post("/v1/models/1/activate").status_code == 200
    assert client.post("/predict", json={"data": [SETOSA]}).json() == bundled

    assert client.post(f"/v1/models/{version}/activate").status_code == 200
    assert client.post("/predict", json={"data": [SETOSA]}).json() == boosted


@pytest.fixture
def slow_client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    """A started app of its own whose gradient boosting trains 5000 stages by default."""
    slow = {"gradient_boosting": {"n_estimators": 5000}}
    settings = registry_settings(tmp_path, database_url)
    yield from started(settings.model_copy(update={"hyperparameters": slow}))


def test_train_answers_409_when_the_job_it_waits_for_is_cancelled(
    slow_client: TestClient,
) -> None:
    answers: list[Response] = []
    waiting = threading.Thread(
        target=lambda: answers.append(slow_client.post("/train?gradient_boosting=true"))
    )
    waiting.start()
    deadline = time.monotonic() + JOB_SECONDS
    while not (jobs := slow_client.get("/v1/jobs").json()["items"]):
        assert time.monotonic() < deadline, "no job was queued"
        time.sleep(0.02)
    cancelled = slow_client.post(f"/v1/jobs/{jobs[0]['id']}/cancel")
    waiting.join(JOB_SECONDS)

    assert cancelled.status_code == 200, cancelled.text
    [answer] = answers
    assert answer.status_code == 409, answer.text
    assert answer.json()["type"] == "urn:mlapi:problem:job-cancelled"
    assert answer.json()["detail"] == f"training job {jobs[0]['id']} was cancelled by api"
    assert slow_client.get("/v1/model").json()["version"] == 1  # the bundled model still
