"""``mlapi.cli.client.HttpClient``: the service's operations over HTTP, read back as records."""

import asyncio
import http.server
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import pytest
from pydantic import TypeAdapter

from mlapi.cli.client import HttpClient, ServerError
from mlapi.ml.evaluation import Evaluation
from mlapi.serving.records import (
    JobPage,
    JobState,
    ModelVersion,
    ModelVersionPage,
    Predictions,
    TrainingJob,
    TrainingOrder,
)
from tests.cli.conftest import active_version
from tests.e2e.conftest import LiveServer

Result = TypeVar("Result")

SETOSA_ROW = [5.1, 3.5, 1.4, 0.2]


def on(url: str, operation: Callable[[HttpClient], Awaitable[Result]]) -> Result:
    """Run one operation with a client of the server at ``url``."""

    async def session() -> Result:
        async with HttpClient(url) as client:
            return await operation(client)

    return asyncio.run(session())


def as_served(record: object) -> Any:
    """A record as JSON data, serialised the way the REST API serialises it."""
    return TypeAdapter(type(record)).dump_python(record, mode="json")


def test_http_client_returns_the_records_the_server_answers_with(live_server: LiveServer) -> None:
    active = active_version(live_server)

    async def work(client: HttpClient) -> dict[str, Any]:
        queued = await client.train(
            TrainingOrder(
                algorithm="decision_tree",
                hyperparameters={"max_depth": 2},
                test_size=0.3,
                random_state=5,
                activate=False,
            ),
            created_by="test",
        )
        finished = await client.wait(queued.id)
        assert finished.model_version is not None
        return {
            "queued": queued,
            "finished": finished,
            "job": await client.job(queued.id),
            "jobs": await client.jobs(limit=5),
            "version": await client.version(finished.model_version),
            "versions": await client.versions(limit=5),
            "predictions": await client.predict([SETOSA_ROW], finished.model_version),
            "activated": await client.activate(active, "test"),
        }

    records = on(live_server.url, work)
    queued, finished, version = records["queued"], records["finished"], records["version"]
    assert isinstance(queued, TrainingJob)
    assert queued.state is JobState.QUEUED
    assert queued.hyperparameters["max_depth"] == 2
    assert (queued.test_size, queued.random_state, queued.activate) == (0.3, 5, False)
    assert finished.id == queued.id
    assert finished.state is JobState.SUCCEEDED
    assert isinstance(records["jobs"], JobPage)
    assert all(isinstance(item, TrainingJob) for item in records["jobs"].items)
    assert isinstance(version, ModelVersion)
    assert isinstance(version.metrics, Evaluation)
    assert isinstance(version.created_at, datetime)
    assert (version.version, version.active) == (finished.model_version, False)
    assert isinstance(records["versions"], ModelVersionPage)
    assert all(isinstance(item, ModelVersion) for item in records["versions"].items)
    assert isinstance(records["predictions"], Predictions)
    assert records["predictions"].model_version == version.version
    assert (records["activated"].version, records["activated"].active) == (active, True)

    with live_server.client() as client:
        served = {
            "job": client.get(f"/v1/jobs/{queued.id}"),
            "jobs": client.get("/v1/jobs", params={"limit": 5}),
            "version": client.get(f"/v1/models/{version.version}"),
            "versions": client.get("/v1/models", params={"limit": 5}),
            "predictions": client.post(
                "/v1/predict", json={"data": [SETOSA_ROW], "model_version": version.version}
            ),
            "activated": client.get(f"/v1/models/{active}"),
        }
    for name, response in served.items():
        assert response.status_code == 200, response.text
        assert as_served(records[name]) == response.json(), name
    assert as_served(finished) == served["job"].json()

    assert on(live_server.url, lambda client: client.delete(version.version)) is None
    with live_server.client() as client:
        assert client.get(f"/v1/models/{version.version}").status_code == 404


@pytest.mark.parametrize(
    ("operation", "path"),
    [
        (lambda client: client.version(2147483647), "/v1/models/2147483647"),
        (lambda client: client.job("no-such-job"), "/v1/jobs/no-such-job"),
    ],
    ids=["version", "job"],
)
def test_http_client_turns_a_not_found_problem_into_server_error(
    live_server: LiveServer,
    operation: Callable[[HttpClient], Awaitable[object]],
    path: str,
) -> None:
    with pytest.raises(ServerError) as raised:
        on(live_server.url, operation)
    with live_server.client() as client:
        problem = client.get(path).json()
    assert "does not exist" in problem["detail"]
    assert str(raised.value) == f"{problem['detail']} [HTTP 404 Not Found]"


def test_http_client_server_error_names_each_offending_field(live_server: LiveServer) -> None:
    order: dict[str, Any] = {
        "algorithm": "decision_tree",
        "hyperparameters": {"max_depth": 0, "min_samples_leaf": 0},
        "test_size": None,
        "random_state": None,
        "activate": False,
    }
    with pytest.raises(ServerError) as raised:
        on(live_server.url, lambda client: client.train(TrainingOrder(**order), "test"))
    with live_server.client() as client:
        response = client.post("/v1/train", json=order)
    problem = response.json()
    assert response.status_code == 422
    assert {field["pointer"] for field in problem["errors"]} == {
        "#/hyperparameters/max_depth",
        "#/hyperparameters/min_samples_leaf",
    }
    message = str(raised.value)
    assert message.startswith(problem["detail"])
    for field in problem["errors"]:
        assert f"{field['pointer']}: {field['detail']}" in message
    assert message.endswith(f"[HTTP 422 {response.reason_phrase}]")


def test_http_client_server_error_names_each_offending_parameter(
    live_server: LiveServer,
) -> None:
    with pytest.raises(ServerError) as raised:
        on(live_server.url, lambda client: client.versions(limit=0, offset=-1))
    with live_server.client() as client:
        response = client.get("/v1/models", params={"limit": 0, "offset": -1})
    problem = response.json()
    assert {field["parameter"] for field in problem["errors"]} == {"limit", "offset"}
    message = str(raised.value)
    assert message.startswith(problem["detail"])
    for field in problem["errors"]:
        assert f"{field['parameter']}: {field['detail']}" in message
    assert message.endswith(f"[HTTP 422 {response.reason_phrase}]")


def test_http_client_that_cannot_reach_the_server_raises_server_error() -> None:
    with pytest.raises(ServerError, match="cannot reach the server"):
        on("http://127.0.0.1:9", lambda client: client.versions())


def test_http_client_refuses_an_answer_that_is_not_the_record_it_asked_for() -> None:
    class OtherService(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"version": "not a number", "hello": true}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), OtherService) as other:
        threading.Thread(target=other.serve_forever, daemon=True).start()
        try:
            with pytest.raises(ServerError, match="not a ModelVersion"):
                on(f"http://127.0.0.1:{other.server_port}", lambda client: client.version(1))
        finally:
            other.shutdown()
