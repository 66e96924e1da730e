"""``mlapi jobs``: list, show and cancel training jobs."""

import re

from tests.cli.conftest import Mlapi, as_json
from tests.e2e.conftest import LiveServer


def test_jobs_list_and_show(mlapi: Mlapi) -> None:
    mlapi("train", "--wait")
    queued = re.search(r"queued training job (\S+);", mlapi("train").stdout)
    assert queued is not None
    listing = mlapi("jobs", "list").stdout
    assert "2 of 2 jobs" in listing
    assert "queued" in listing
    assert "succeeded" in listing
    page = mlapi("jobs", "list", "--limit", "1").stdout
    assert "1 of 2 jobs" in page
    assert "queued" in page  # newest first
    job = as_json(mlapi("jobs", "show", queued.group(1)))
    assert job["id"] == queued.group(1)
    assert job["state"] == "queued"


def test_jobs_list_format_json_prints_the_page_of_jobs(mlapi: Mlapi) -> None:
    succeeded = as_json(mlapi("--format", "json", "train", "--wait"))
    queued = as_json(mlapi("--format", "json", "train", "--algorithm", "gradient_boosting"))
    page = as_json(mlapi("--format", "json", "jobs", "list"))
    assert set(page) == {"items", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    newest, oldest = page["items"]
    assert newest == queued
    assert (oldest["state"], oldest["progress"]) == ("succeeded", 1)
    assert oldest["model_version"] == succeeded["version"] == 2
    assert oldest["algorithm"] == "decision_tree"
    assert oldest == as_json(mlapi("jobs", "show", oldest["id"]))
    second = as_json(mlapi("--format", "json", "jobs", "list", "--limit", "1", "--offset", "1"))
    assert (second["total"], second["limit"], second["offset"]) == (2, 1, 1)
    assert second["items"] == [oldest]


def test_jobs_show_unknown_job_fails_clearly(mlapi: Mlapi) -> None:
    result = mlapi("jobs", "show", "no-such-job", exit_code=1)
    assert "error: training job no-such-job does not exist" in result.stderr


def test_jobs_list_url_format_json_is_the_servers_get_jobs_document(
    mlapi: Mlapi, live_server: LiveServer
) -> None:
    # A job of its own, so the page is not empty; not activated, and waited for, so the
    # server's jobs do not change between the two reads.
    mlapi("--url", live_server.url, "train", "--no-activate", "--wait")
    listed = as_json(mlapi("--url", live_server.url, "--format", "json", "jobs", "list"))
    with live_server.client() as client:
        assert listed == client.get("/v1/jobs").json()
    assert listed["total"] >= 1
    assert listed["items"][0]["state"] == "succeeded"
    assert listed["items"][0]["activate"] is False


def test_jobs_cancel_ends_a_queued_job_and_refuses_it_twice(mlapi: Mlapi) -> None:
    queued = re.search(r"queued training job (\S+);", mlapi("train").stdout)
    assert queued is not None
    job_id = queued.group(1)

    assert mlapi("jobs", "cancel", job_id).stdout == f"cancelled training job {job_id}\n"
    again = mlapi("jobs", "cancel", job_id, exit_code=1)
    job = as_json(mlapi("jobs", "show", job_id))

    assert f"error: training job {job_id} already cancelled" in again.stderr
    assert (job["state"], job["error"]) == ("cancelled", "cancelled by cli")
    assert "cancelled" in mlapi("jobs", "list").stdout


def test_jobs_cancel_url_cancels_on_the_server(mlapi: Mlapi, live_server: LiveServer) -> None:
    url = ("--url", live_server.url, "--format", "json")
    slow = ("--algorithm", "gradient_boosting", "--param", "n_estimators=5000", "--no-activate")
    queued = as_json(mlapi(*url, "train", *slow))

    cancelled = as_json(mlapi(*url, "jobs", "cancel", queued["id"]))
    again = mlapi(*url, "jobs", "cancel", queued["id"], exit_code=1)

    assert (cancelled["id"], cancelled["state"]) == (queued["id"], "cancelled")
    assert cancelled["error"] == "cancelled by api"
    assert "already cancelled [HTTP 409 Conflict]" in again.stderr
