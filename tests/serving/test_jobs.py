"""Training jobs: rows in the registry database, claimed, reported on, swept, executed."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from mlapi.ml import InvalidInputError
from mlapi.serving.jobs import (
    FIT_SHARE,
    JobNotFoundError,
    JobStore,
    TrainingRequest,
    execute_job,
    make_request,
)
from mlapi.serving.registry import Registry
from mlapi.serving.tables import JobState, TrainingJobRow, utc_now
from mlapi.settings import Settings


def _request(**changes: Any) -> TrainingRequest:
    values: dict[str, Any] = {
        "algorithm": "decision_tree",
        "hyperparameters": {"max_depth": 3},
        "test_size": 0.2,
        "random_state": 0,
        "activate": True,
        "created_by": "test",
    }
    return TrainingRequest(**{**values, **changes})


def _age(engine: Engine, job_id: str, seconds: float) -> None:
    """Move a job's heartbeat into the past, as if its process had stopped."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(TrainingJobRow)
            .where(TrainingJobRow.id == job_id)
            .values(heartbeat_at=utc_now() - timedelta(seconds=seconds))
        )


# Requests


def test_make_request_fills_configured_defaults(tmp_path: Any) -> None:
    settings = Settings(
        model_dir=str(tmp_path),
        default_algorithm="gradient_boosting",
        hyperparameters={"gradient_boosting": {"n_estimators": 7}},
        test_size=0.3,
        random_state=4,
    )

    request = make_request(settings, hyperparameters={"max_depth": 2}, created_by="bob")

    assert request.algorithm == "gradient_boosting"
    assert request.hyperparameters["n_estimators"] == 7
    assert request.hyperparameters["max_depth"] == 2
    assert (request.test_size, request.random_state) == (0.3, 4)
    assert (request.activate, request.created_by) == (True, "bob")


def test_make_request_rejects_an_invalid_hyperparameter(settings: Settings) -> None:
    with pytest.raises(InvalidInputError, match="max_depth"):
        make_request(settings, hyperparameters={"max_depth": 0})


# Rows


def test_create_queues_a_job_with_what_to_train(jobs: JobStore) -> None:
    job = jobs.create(_request(created_by="alice"))

    stored = jobs.get(job.id)
    assert stored == job
    assert stored.state is JobState.QUEUED
    assert stored.progress == 0.0
    assert (stored.algorithm, stored.hyperparameters) == ("decision_tree", {"max_depth": 3})
    assert stored.created_by == "alice"
    assert stored.started_at is stored.finished_at is stored.model_version is None
    assert stored.finished is False


def test_get_of_unknown_job_raises_not_found(jobs: JobStore) -> None:
    with pytest.raises(JobNotFoundError):
        jobs.get("no-such-job")


def test_page_lists_jobs_newest_first_with_the_total(jobs: JobStore) -> None:
    ids = [jobs.create(_request()).id for _ in range(5)]

    first, total = jobs.page(limit=3)
    rest, _ = jobs.page(limit=3, offset=3)

    assert total == 5
    assert [job.id for job in first + rest] == ids[::-1]


def test_claim_takes_the_oldest_unclaimed_job(jobs: JobStore) -> None:
    older = jobs.create(_request())
    newer = jobs.create(_request())

    first = jobs.claim("worker-a")
    second = jobs.claim("worker-b")

    assert first is not None
    assert second is not None
    assert (first.id, second.id) == (older.id, newer.id)
    assert jobs.claim("worker-c") is None


def test_claim_skips_jobs_claimed_at_creation(jobs: JobStore) -> None:
    jobs.create(_request(), worker="this-server")

    assert jobs.claim("other-server") is None


def test_concurrent_claims_never_take_the_same_job(engine: Engine) -> None:
    stores = [JobStore(engine) for _ in range(4)]
    created = {stores[0].create(_request()).id for _ in range(12)}
    barrier = threading.Barrier(len(stores))
    claimed: list[str] = []
    errors: list[BaseException] = []

    def run(store: JobStore, worker: str) -> None:
        barrier.wait()
        try:
            while (job := store.claim(worker)) is not None:
                claimed.append(job.id)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(store, f"worker-{n}")) for n, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(claimed) == sorted(created)


def test_release_puts_a_claimed_job_back_in_the_queue(jobs: JobStore) -> None:
    job = jobs.create(_request())
    assert jobs.claim("worker-a") is not None

    jobs.release(job.id)

    again = jobs.claim("worker-b")
    assert again is not None
    assert again.id == job.id


def test_start_report_record_and_succeed_follow_the_job(jobs: JobStore) -> None:
    job = jobs.create(_request())
    jobs.claim("worker")

    jobs.start(job.id)
    running = jobs.get(job.id)
    jobs.report(job.id, 0.5)
    halfway = jobs.get(job.id)
    jobs.record_version(job.id, 3)
    jobs.succeed(job.id)
    done = jobs.get(job.id)

    assert running.state is JobState.RUNNING
    assert running.started_at is not None
    assert halfway.progress == 0.5
    assert done.state is JobState.SUCCEEDED
    assert (done.progress, done.model_version, done.error) == (1.0, 3, None)
    assert done.finished_at is not None
    assert done.finished_at >= running.started_at
    assert done.finished is True


def test_report_clamps_progress_between_0_and_1(jobs: JobStore) -> None:
    job = jobs.create(_request())
    jobs.start(job.id)

    jobs.report(job.id, 7.0)
    high = jobs.get(job.id).progress
    jobs.report(job.id, -1.0)

    assert (high, jobs.get(job.id).progress) == (1.0, 0.0)


def test_fail_records_the_error(jobs: JobStore) -> None:
    job = jobs.create(_request())
    jobs.start(job.id)

    jobs.fail(job.id, "it broke")

    failed = jobs.get(job.id)
    assert (failed.state, failed.error) == (JobState.FAILED, "it broke")
    assert failed.finished_at is not None


def test_fail_does_not_overwrite_a_succeeded_job(jobs: JobStore) -> None:
    job = jobs.create(_request())
    jobs.start(job.id)
    jobs.succeed(job.id)

    jobs.fail(job.id, "too late")

    assert jobs.get(job.id).state is JobState.SUCCEEDED
    assert jobs.get(job.id).error is None


def test_succeed_does_not_overwrite_a_failed_job(jobs: JobStore) -> None:
    job = jobs.create(_request())
    jobs.start(job.id)
    jobs.fail(job.id, "interrupted")

    jobs.succeed(job.id)

    assert jobs.get(job.id).state is JobState.FAILED


def test_report_after_failure_does_not_revive_the_job(jobs: JobStore) -> None:
    job = jobs.create(_request())
    jobs.start(job.id)
    jobs.fail(job.id, "interrupted")

    jobs.report(job.id, 0.9)

    assert jobs.get(job.id).state is JobState.FAILED
    assert jobs.get(job.id).progress == 0.0


# Sweeping


def test_sweep_fails_a_running_job_whose_heartbeat_stopped(jobs: JobStore, engine: Engine) -> None:
    job = jobs.create(_request())
    jobs.claim("gone")
    jobs.start(job.id)
    _age(engine, job.id, 60)

    assert jobs.sweep(stale_seconds=5) == 1

    swept = jobs.get(job.id)
    assert swept.state is JobState.FAILED
    assert swept.error is not None
    assert swept.error.startswith("interrupted")
    assert swept.finished_at is not None


def test_sweep_leaves_a_running_job_with_a_fresh_heartbeat(jobs: JobStore) -> None:
    job = jobs.create(_request())
    jobs.start(job.id)
    jobs.report(job.id, 0.2)

    assert jobs.sweep(stale_seconds=5) == 0

    assert jobs.get(job.id).state is JobState.RUNNING


def test_sweep_requeues_a_stale_claim_and_leaves_a_fresh_one(
    jobs: JobStore, engine: Engine
) -> None:
    stale = jobs.create(_request(), worker="gone")
    fresh = jobs.create(_request(), worker="alive")
    _age(engine, stale.id, 60)

    assert jobs.sweep(stale_seconds=5) == 0

    claimed = jobs.claim("new-worker")
    assert claimed is not None
    assert claimed.id == stale.id
    assert jobs.claim("new-worker") is None
    assert jobs.get(fresh.id).state is JobState.QUEUED


def test_sweep_leaves_finished_jobs_alone(jobs: JobStore, engine: Engine) -> None:
    job = jobs.create(_request())
    jobs.start(job.id)
    jobs.succeed(job.id)
    _age(engine, job.id, 60)

    assert jobs.sweep(stale_seconds=5) == 0
    assert jobs.get(job.id).state is JobState.SUCCEEDED


# Executing a job in this process


def test_execute_job_registers_a_version_of_the_requested_model(
    jobs: JobStore, registry: Registry, registry_settings: Settings
) -> None:
    job = jobs.create(_request(hyperparameters={"max_depth": 2}, created_by="alice"))
    jobs.claim("worker")
    reported: list[float] = []

    number = execute_job(job.id, registry_settings.model_dump_json(), reported.append)

    assert number is not None
    version = registry.get(number)
    assert version.algorithm == "decision_tree"
    assert version.hyperparameters["max_depth"] == 2
    assert version.created_by == "alice"
    assert version.dataset_name == "iris"
    done = jobs.get(job.id)
    # Marking it succeeded is left to the caller, after activation.
    assert (done.state, done.model_version, done.progress) == (JobState.RUNNING, number, 1.0)
    # Fitting is FIT_SHARE of a job; registering the version brings it to 1.
    assert reported == [FIT_SHARE]
    assert registry.load(version).metadata is not None


def test_execute_job_reports_gradient_boosting_progress_stage_by_stage(
    jobs: JobStore, registry: Registry, registry_settings: Settings
) -> None:
    job = jobs.create(_request(algorithm="gradient_boosting", hyperparameters={"n_estimators": 8}))
    reported: list[float] = []

    number = execute_job(job.id, registry_settings.model_dump_json(), reported.append)

    assert number is not None
    assert registry.get(number).algorithm == "gradient_boosting"
    assert reported == [FIT_SHARE * stage / 8 for stage in range(1, 9)]


def test_execute_job_fails_a_job_scikit_learn_refuses_when_fitting(
    jobs: JobStore, registry: Registry, registry_settings: Settings
) -> None:
    # Valid on its own, but it leaves one training row for three classes.
    job = jobs.create(_request(test_size=0.99))

    assert execute_job(job.id, registry_settings.model_dump_json()) is None

    failed = jobs.get(job.id)
    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert failed.error.startswith("cannot train on this data")
    assert "train_size" in failed.error
    assert registry.page()[1] == 0


def test_execute_job_fails_an_unknown_algorithm_saved_in_the_job(
    jobs: JobStore, registry_settings: Settings
) -> None:
    job = jobs.create(_request(algorithm="random_forest", hyperparameters={}))

    assert execute_job(job.id, registry_settings.model_dump_json()) is None

    failed = jobs.get(job.id)
    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert "unknown algorithm" in failed.error


def test_execute_job_of_unknown_job_returns_none(
    jobs: JobStore, registry_settings: Settings
) -> None:
    assert execute_job("no-such-job", registry_settings.model_dump_json()) is None
    assert jobs.page() == ([], 0)
