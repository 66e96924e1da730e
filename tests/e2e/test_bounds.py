"""Bounded work against real servers: the training queue, the rate limit, the store quota."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mlapi.ml import classifier
from tests.e2e.conftest import LiveServer, start_server

ROWS = {"data": [[5.1, 3.5, 1.4, 0.2]]}

#: Safety net while a job starts; not a performance assertion.
START_SECONDS = 60


def wait_until_running(client: httpx.Client, location: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while client.get(location).json()["state"] == "queued":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)


def test_a_full_training_queue_answers_429_with_retry_after(tmp_path: Path) -> None:
    # One training process: a long job runs, one more may wait, the next is refused.
    server = start_server(tmp_path, extra_env={"MLAPI_MAX_QUEUED_JOBS": "1"})
    long_job = {"algorithm": "gradient_boosting", "hyperparameters": {"n_estimators": 5000}}
    try:
        with server.client() as client:
            running = client.post("/v1/train", json=long_job)
            wait_until_running(client, running.headers["location"])
            waiting = client.post("/v1/train", json={})
            refused = client.post("/v1/train", json={})
            article = client.post("/train")
    finally:
        server.stop()

    assert (running.status_code, waiting.status_code) == (202, 202)
    for answer in (refused, article):
        assert answer.status_code == 429, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:mlapi:problem:queue-full"
        assert int(answer.headers["retry-after"]) >= 1


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server allowing 3 requests a minute per client."""
    server = start_server(
        tmp_path_factory.mktemp("limited"), extra_env={"MLAPI_RATE_LIMIT": "3/minute"}
    )
    yield server
    server.stop()


def test_over_the_rate_limit_requests_get_429_but_probes_do_not(limited: LiveServer) -> None:
    with limited.client() as client:
        probes = [client.get("/v1/health/ready").status_code for _ in range(5)]
        answers = [client.post("/v1/predict", json=ROWS) for _ in range(4)]
        document = client.get("/openapi.json")

    assert probes == [200] * 5
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["type"] == "urn:mlapi:problem:too-many-requests"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert document.status_code == 429  # every route is counted, documents too


def test_a_full_model_store_refuses_training_with_507(tmp_path: Path) -> None:
    bundled = Path(classifier.__file__).with_name("model.skops").stat().st_size
    server = start_server(tmp_path, extra_env={"MLAPI_MODEL_STORE_MAX_BYTES": str(bundled)})
    try:
        with server.client() as client:
            refused = client.post("/v1/train", json={})
            jobs = client.get("/v1/jobs").json()
            predict = client.post("/predict", json=ROWS)
    finally:
        server.stop()

    assert refused.status_code == 507, refused.text
    assert refused.json()["type"] == "urn:mlapi:problem:insufficient-storage"
    assert "MLAPI_MODEL_STORE_MAX_BYTES" in refused.json()["detail"]
    assert jobs["total"] == 0  # nothing queued
    assert predict.status_code == 200
