"""What a running server tells its operators: /metrics, JSON log lines, request ids.

Scrapes are parsed with prometheus-client's own parser; log lines are read from the
server's standard error (its log file here) and parsed as JSON.
"""

import json
import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import LiveServer, start_server, wait_for_job

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "mlapi.json"
REQUESTS = "mlapi_http_request_duration_seconds_count"

#: Seconds to wait for a log line; a safety net, not a performance assertion.
LOG_WAIT_SECONDS = 10

#: Seconds to wait for what another worker process tallied to reach the shared files
#: (it adds its tallies once a second); a safety net, not a performance assertion.
FLUSH_WAIT_SECONDS = 30

Sample = tuple[str, dict[str, str], float]


def scrape(client: httpx.Client) -> list[Sample]:
    """Every sample of ``/metrics``, parsed by prometheus-client."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The one sample of ``name`` with exactly these labels (0 if there is none)."""
    found = [
        v
        for sample_name, sample_labels, v in samples
        if sample_name == name and sample_labels == labels
    ]
    assert len(found) <= 1, f"{name}{labels} appears {len(found)} times"
    return found[0] if found else 0.0


def requests_of(samples: list[Sample], route: str, method: str, status: str) -> float:
    """How many requests the server counted for a route template, method and status."""
    return value(samples, REQUESTS, route=route, method=method, status=status)


def log_lines(server: LiveServer) -> list[dict[str, Any]]:
    """Every line the server wrote, each parsed as a JSON object."""
    lines = server.log.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def lines_of(
    server: LiveServer, request_id: str, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The log lines written on behalf of one request (and of the job it queued).

    Polled until ``until`` holds of them: a request's access line is written once its
    answer is sent.
    """
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        lines = [line for line in log_lines(server) if line.get("request_id") == request_id]
        if until(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def _access_line_written(lines: list[dict[str, Any]]) -> bool:
    return any(line["logger"] == "mlapi.access" for line in lines)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module's tests, with the default (JSON, as not a terminal) logs."""
    started = start_server(tmp_path_factory.mktemp("observed"))
    yield started
    started.stop()


def test_metrics_count_requests_by_route_template_never_by_raw_path(server: LiveServer) -> None:
    probe = f"/no-such-page-{uuid.uuid4().hex}"
    with server.client() as client:
        before = scrape(client)
        for _ in range(3):  # the quick way: no FastAPI routing
            assert client.post("/v1/predict", json={"data": ROWS}).status_code == 200
        assert client.post("/v1/predict", json={"data": [[1, 2]]}).status_code == 422
        assert client.get("/v1/models/1").status_code == 200
        assert client.get(probe).status_code == 404
        after = scrape(client)

    def counted(route: str, method: str, status: str) -> float:
        return requests_of(after, route, method, status) - requests_of(
            before, route, method, status
        )

    assert counted("/v1/predict", "POST", "200") == 3
    assert counted("/v1/predict", "POST", "422") == 1
    assert counted("/v1/models/{version}", "GET", "200") == 1
    assert counted("unmatched", "GET", "404") >= 1
    assert not [labels for _, labels, _ in after if probe in labels.values()]
    assert value(after, "mlapi_predictions_total", **{"class": "virginica"}) >= 3
    assert value(after, "mlapi_predict_batch_size_count") >= 3
    assert value(after, "mlapi_model_load_duration_seconds_count") >= 1
    served = [labels for name, labels, v in after if name == "mlapi_model_info" and v == 1]
    assert [(labels["version"], labels["algorithm"]) for labels in served] == [
        ("1", "decision_tree")
    ]
    assert value(after, "mlapi_model_fallback", pid=served[0]["pid"]) == 0


def test_every_answer_carries_a_request_id_the_client_sent_or_one_made(server: LiveServer) -> None:
    with server.client() as client:
        quick = client.post("/predict", json={"data": ROWS}, headers={"X-Request-ID": "quick-1"})
        routed = client.post(
            "/v1/predict", json={"data": "rows"}, headers={"X-Request-ID": "bad-2"}
        )
        not_json = client.post(
            "/v1/predict", content=b"rows", headers={"content-type": "text/plain"}
        )
        missing = client.get("/v1/jobs/no-such-job")
        refused_id = client.get("/v1/health/live", headers={"X-Request-ID": "no spaces please"})
        made = [client.get("/v1/health/live").headers["x-request-id"] for _ in range(2)]

    assert (quick.status_code, quick.headers["x-request-id"]) == (200, "quick-1")
    assert (routed.status_code, routed.headers["x-request-id"]) == (422, "bad-2")
    assert not_json.status_code == 415
    assert missing.status_code == 404
    for response in (not_json, missing, refused_id):
        assert re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", response.headers["x-request-id"])
    assert made[0] != made[1]


def test_each_request_leaves_one_json_access_line(server: LiveServer) -> None:
    request_id = f"access-{uuid.uuid4().hex}"
    with server.client() as client:
        answer = client.post(
            "/v1/predict", json={"data": ROWS}, headers={"X-Request-ID": request_id}
        )
    assert answer.status_code == 200

    lines = lines_of(server, request_id, _access_line_written)  # every line is JSON

    assert len(lines) == 1
    (line,) = lines
    assert line["logger"] == "mlapi.access"
    assert line["message"] == "POST /v1/predict 200"
    assert (line["method"], line["path"], line["route"], line["status"]) == (
        "POST",
        "/v1/predict",
        "/v1/predict",
        200,
    )
    assert line["duration_ms"] > 0
    assert re.fullmatch(r"127\.0\.0\.1:\d+", line["client"])
    assert line["level"] == "info"
    # uvicorn's own access line is gone: one line per request.
    assert not [entry for entry in log_lines(server) if entry["logger"] == "uvicorn.access"]


def test_a_training_job_logs_its_events_with_the_id_of_the_request_that_queued_it(
    server: LiveServer,
) -> None:
    request_id = f"train-{uuid.uuid4().hex}"
    with server.client() as client:
        before = scrape(client)
        queued = client.post(
            "/v1/train", json={"algorithm": "decision_tree"}, headers={"X-Request-ID": request_id}
        )
        assert queued.status_code == 202, queued.text
        job = wait_for_job(client, queued.headers["location"])
        after = scrape(client)
    assert job["state"] == "succeeded", job
    assert job["request_id"] == request_id

    version = job["model_version"]
    events = {
        line["message"]: line
        for line in lines_of(server, request_id, lambda lines: len(lines) >= 5)
    }
    assert f"queued training job {job['id']}" in events
    assert f"training job {job['id']} started" in events
    succeeded = events[f"training job {job['id']} succeeded: version {version}"]
    assert (succeeded["job_id"], succeeded["model_version"]) == (job["id"], version)
    activated = [line for message, line in events.items() if message.startswith("activated")]
    assert [line["model_version"] for line in activated] == [version]
    assert events["POST /v1/train 202"]["logger"] == "mlapi.access"

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    for state in ("queued", "running", "succeeded"):
        assert grew("mlapi_training_jobs_total", state=state) == 1
    assert grew("mlapi_training_job_duration_seconds_count", state="succeeded") == 1
    assert value(after, "mlapi_training_jobs_running") == 0
    served = [labels for name, labels, v in after if name == "mlapi_model_info" and v == 1]
    assert [labels["version"] for labels in served] == [str(version)]


def test_every_metric_the_grafana_dashboard_queries_is_in_a_scrape(server: LiveServer) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    queried = {name for query in queries for name in re.findall(r"\bmlapi_[a-z_]+\b", query)}
    with server.client() as client:
        assert client.post("/predict", json={"data": ROWS}).status_code == 200
        names = {name for name, _, _ in scrape(client)}

    assert len(queries) >= 8
    assert queried - names == set()
    # It shows every metric mlapi has.
    assert {name.removesuffix("_bucket") for name in queried} >= {
        "mlapi_http_request_duration_seconds",
        "mlapi_predict_batch_size",
        "mlapi_predictions_total",
        "mlapi_model_info",
        "mlapi_model_fallback",
        "mlapi_model_load_duration_seconds",
        "mlapi_training_jobs_total",
        "mlapi_training_jobs_running",
        "mlapi_training_job_duration_seconds",
    }


def test_two_workers_count_each_request_once_in_one_series(
    server_factory: Callable[..., LiveServer],
) -> None:
    two = server_factory(workers=2)
    sent = 0
    with two.client(headers={"Connection": "close"}) as client, ThreadPoolExecutor(8) as pool:
        # New connections land on either worker: send until the log shows both answered.
        for _ in range(50):
            ids = [f"two-{sent + index}" for index in range(16)]
            answers = list(
                pool.map(
                    lambda ident: (
                        client.post(
                            "/v1/predict", json={"data": ROWS}, headers={"X-Request-ID": ident}
                        ).status_code
                    ),
                    ids,
                )
            )
            assert answers == [200] * len(ids)
            sent += len(ids)
            access = [line for line in log_lines(two) if line["logger"] == "mlapi.access"]
            workers = {line["pid"] for line in access if line["request_id"].startswith("two-")}
            if len(workers) == 2:
                break
        assert len(workers) == 2, "every request went to one worker"

        deadline = time.monotonic() + FLUSH_WAIT_SECONDS
        while True:  # each worker adds its tallies to the shared files within a second
            samples = scrape(client)
            counted = requests_of(samples, "/v1/predict", "POST", "200")
            if counted >= sent or time.monotonic() > deadline:
                break
            time.sleep(0.1)

    assert counted == sent
    assert value(samples, "mlapi_predictions_total", **{"class": "virginica"}) == sent
    assert _serving_pids(samples) == workers  # one series per worker process
    assert value(samples, "mlapi_model_load_duration_seconds_count") == 1  # loaded once, shared

    # A worker that dies is replaced: its counts stay, its per-process gauges go.
    killed = workers.pop()
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + FLUSH_WAIT_SECONDS
    with two.client() as client:
        while True:
            try:
                samples = scrape(client)
            except httpx.TransportError:  # the request went to the worker as it died
                continue
            pids = _serving_pids(samples)
            if (killed not in pids and len(pids) == 2) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert killed not in pids
    assert len(pids) == 2
    assert not [labels for _, labels, _ in samples if labels.get("pid") == str(killed)]
    assert requests_of(samples, "/v1/predict", "POST", "200") == sent


def _serving_pids(samples: list[Sample]) -> set[int]:
    return {int(labels["pid"]) for name, labels, v in samples if name == "mlapi_model_info" and v}


def _train(client: httpx.Client) -> int:
    queued = client.post("/v1/train", json={"algorithm": "decision_tree"})
    assert queued.status_code == 202, queued.text
    job = wait_for_job(client, queued.headers["location"])
    assert job["state"] == "succeeded", job
    return int(job["model_version"])


def test_a_process_serving_a_fallback_is_ready_but_degraded_and_says_so_in_metrics(
    server_factory: Callable[..., LiveServer],
) -> None:
    first = server_factory()
    with first.client() as client:
        damaged = _train(client)  # version 1, the bundled model, stays good
        checksum = client.get(f"/v1/models/{damaged}").json()["checksum"]
        assert client.get("/v1/health/ready").json() == {
            "status": "ready",
            "model_version": damaged,
        }
    first.stop()
    file = first.model_dir / "versions" / f"{checksum}.skops"
    file.write_bytes(file.read_bytes()[:100])
    log_size = first.log.stat().st_size

    restarted = server_factory(same_as=first, extra_env={"MLAPI_LOG_FORMAT": "text"})
    with restarted.client() as client:
        ready = client.get("/v1/health/ready")
        samples = scrape(client)
        recovered = client.post("/v1/models/1/activate")
        after = client.get("/v1/health/ready")
        samples_after = scrape(client)

    assert ready.status_code == 200
    assert ready.json() == {"status": "degraded", "model_version": 1}
    (pid,) = {labels["pid"] for name, labels, _ in samples if name == "mlapi_model_fallback"}
    assert value(samples, "mlapi_model_fallback", pid=pid) == 1
    assert recovered.status_code == 200, recovered.text
    assert after.json() == {"status": "ready", "model_version": 1}
    assert value(samples_after, "mlapi_model_fallback", pid=pid) == 0
    # MLAPI_LOG_FORMAT=text: the restarted server wrote lines for people.
    text = first.log.read_bytes()[log_size:].decode()
    assert f"active version {damaged} refused" in text
    assert "INFO:     mlapi.access: GET /v1/health/ready 200" in text
    assert not [line for line in text.splitlines() if line.startswith("{")]
