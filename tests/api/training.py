"""Helpers for API tests that train: queue a job and follow it to the end."""

import time
from typing import Any

from fastapi.testclient import TestClient

#: Safety net for a training job run in a fresh spawned process; not a performance assertion.
JOB_SECONDS = 120

#: A setosa row: the bundled decision tree is certain of it, gradient boosting is not.
SETOSA = [5.1, 3.5, 1.4, 0.2]


def follow_job(client: TestClient, job_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Poll a job until it has finished.

    Args:
        client: The app's client.
        job_id: The job.

    Returns:
        The finished job, and every state of it seen on the way.
    """
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + JOB_SECONDS
    while True:
        response = client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        seen.append(job)
        if job["state"] in {"succeeded", "failed", "cancelled"}:
            return job, seen
        assert time.monotonic() < deadline, f"job {job_id} did not finish: {job}"
        time.sleep(0.05)


def train(client: TestClient, **body: Any) -> dict[str, Any]:
    """Queue a training job and wait until it succeeds.

    Args:
        client: The app's client.
        **body: The ``POST /v1/train`` body.

    Returns:
        The succeeded job.
    """
    response = client.post("/v1/train", json=body)
    assert response.status_code == 202, response.text
    job, _ = follow_job(client, response.json()["id"])
    assert job["state"] == "succeeded", job
    return job


def train_gradient_boosting(client: TestClient, **body: Any) -> int:
    """Train a small gradient boosting model.

    Args:
        client: The app's client.
        **body: More of the ``POST /v1/train`` body.

    Returns:
        The version it registered.
    """
    job = train(
        client,
        **{"algorithm": "gradient_boosting", "hyperparameters": {"n_estimators": 10}, **body},
    )
    version: int = job["model_version"]
    return version
