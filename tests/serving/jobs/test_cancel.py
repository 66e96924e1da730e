"""Cancelling training jobs: the rows, the training process, and the pool that runs them."""

import asyncio
import logging
import threading

import pytest
from anyio import to_thread
from sqlalchemy import Engine

from mlapi.metrics import Metrics
from mlapi.serving.errors import JobFinishedError, JobNotFoundError, TrainingCancelledError
from mlapi.serving.jobs.dispatcher import PoolDispatcher
from mlapi.serving.jobs.finish import finish_job
from mlapi.serving.jobs.follow import follow_job
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.jobs.worker import FIT_SHARE, execute_job
from mlapi.serving.records import JobState, TrainingJob
from mlapi.serving.registry import Registry
from mlapi.settings import ErrorDetail, Settings
from tests.serving.jobs.test_dispatcher import JOB_TIMEOUT, _finished, _no_activation
from tests.serving.specs import age_heartbeat, boosting_spec, training_spec, until_fitting

# Rows


def test_cancel_ends_a_queued_job_saying_who(jobs: JobStore) -> None:
    job = jobs.create(training_spec())

    cancelled = jobs.cancel(job.id, "alice")

    assert cancelled == jobs.get(job.id)
    assert (cancelled.state, cancelled.error) == (JobState.CANCELLED, "cancelled by alice")
    assert cancelled.finished_at is not None
    assert cancelled.finished is True
    assert jobs.claim("worker") is None  # no longer waiting to run
    assert jobs.start(job.id) is False


def test_cancel_ends_a_running_job_whose_later_writes_then_change_nothing(
    jobs: JobStore, engine: Engine
) -> None:
    job = jobs.create(training_spec())
    jobs.claim("worker")
    jobs.start(job.id)
    jobs.report(job.id, 0.25)

    jobs.cancel(job.id, "bob")

    assert jobs.report(job.id, 0.5) is False  # the training process's cue to stop
    assert jobs.report(job.id, 0.6, heartbeat=False) is False
    assert jobs.record_version(job.id, 7) is False
    assert jobs.succeed(job.id) is False
    jobs.fail(job.id, "too late")
    age_heartbeat(engine, job.id, 60)
    assert jobs.sweep(stale_seconds=5) == 0
    assert jobs.renew("worker", running=True) == 0
    done = jobs.get(job.id)
    assert (done.state, done.error, done.progress) == (JobState.CANCELLED, "cancelled by bob", 0.25)
    assert done.model_version is None


@pytest.mark.parametrize("ending", ["succeed", "fail", "cancel"])
def test_cancel_refuses_a_finished_job_and_leaves_it(jobs: JobStore, ending: str) -> None:
    job = jobs.create(training_spec())
    jobs.start(job.id)
    if ending == "succeed":
        jobs.succeed(job.id)
    elif ending == "fail":
        jobs.fail(job.id, "it broke")
    else:
        jobs.cancel(job.id, "alice")
    before = jobs.get(job.id)

    with pytest.raises(JobFinishedError, match=f"already {before.state}"):
        jobs.cancel(job.id, "bob")

    assert jobs.get(job.id) == before


def test_cancel_of_an_unknown_job_raises_not_found(jobs: JobStore) -> None:
    with pytest.raises(JobNotFoundError):
        jobs.cancel("no-such-job", "alice")


def test_waiting_for_a_job_that_is_cancelled_says_who_cancelled_it(jobs: JobStore) -> None:
    job = jobs.create(training_spec())
    jobs.cancel(job.id, "alice")

    async def get(job_id: str) -> TrainingJob:
        return jobs.get(job_id)

    with pytest.raises(
        TrainingCancelledError, match=f"training job {job.id} was cancelled by alice"
    ):
        asyncio.run(follow_job(get, job.id))


# The training process


def test_a_job_cancelled_mid_fit_stops_fitting_and_registers_nothing(
    jobs: JobStore, registry: Registry, registry_settings: Settings
) -> None:
    job = jobs.create(boosting_spec(5000))
    reported: list[float] = []
    fitting = threading.Event()

    def progress(share: float) -> None:
        reported.append(share)
        fitting.set()

    result: list[int | None] = []
    training = threading.Thread(
        target=lambda: result.append(
            execute_job(job.id, registry_settings.model_dump_json(), progress)
        )
    )
    training.start()
    assert fitting.wait(JOB_TIMEOUT)
    jobs.cancel(job.id, "alice")
    training.join(JOB_TIMEOUT)

    assert result == [None]
    assert max(reported) < FIT_SHARE  # the fit stopped at a heartbeat, not at its end
    assert jobs.get(job.id).state is JobState.CANCELLED
    assert registry.page().total == 0


def test_a_job_cancelled_after_its_fit_registers_nothing(
    jobs: JobStore, registry: Registry, registry_settings: Settings
) -> None:
    # A decision tree reports no progress while it fits: the check before registering
    # is what stops it.
    job = jobs.create(training_spec())

    def progress(share: float) -> None:
        if share == FIT_SHARE:  # the fit is over
            jobs.cancel(job.id, "alice")

    assert execute_job(job.id, registry_settings.model_dump_json(), progress) is None
    assert jobs.get(job.id).state is JobState.CANCELLED
    assert registry.page().total == 0


def test_finish_job_leaves_a_job_cancelled_after_it_registered_unactivated(
    jobs: JobStore,
) -> None:
    job = jobs.create(training_spec())
    jobs.start(job.id)
    jobs.cancel(job.id, "alice")

    state = asyncio.run(finish_job(jobs, job, 1, _no_activation, ErrorDetail.FULL))

    assert state is JobState.CANCELLED
    assert jobs.get(job.id).state is JobState.CANCELLED


# The pool


def test_a_running_pool_job_cancelled_ends_cancelled_and_the_pool_runs_the_next(
    registry_settings: Settings,
    jobs: JobStore,
    registry: Registry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    settings = registry_settings.model_copy(update={"training_workers": 1})

    async def scenario() -> tuple[str, str]:
        dispatcher = PoolDispatcher(settings, jobs, _no_activation, metrics)
        dispatcher.start()
        try:
            doomed = jobs.create(boosting_spec(5000, activate=False))
            dispatcher.submit(doomed)
            await until_fitting(jobs, doomed.id)
            later = jobs.create(training_spec(activate=False))
            dispatcher.submit(later)
            await to_thread.run_sync(jobs.cancel, doomed.id, "alice")
            await _finished(jobs, later.id)
            return doomed.id, later.id
        finally:
            await dispatcher.stop()

    with caplog.at_level(logging.INFO, logger="mlapi.serving.jobs.finish"):
        doomed_id, later_id = asyncio.run(scenario())

    doomed, later = jobs.get(doomed_id), jobs.get(later_id)
    assert (doomed.state, doomed.error) == (JobState.CANCELLED, "cancelled by alice")
    assert doomed.model_version is None
    assert later.state is JobState.SUCCEEDED, later.error
    assert [version.version for version in registry.page().items] == [later.model_version]
    cancelled = metrics.registry.get_sample_value(
        "mlapi_training_jobs_total", {"state": JobState.CANCELLED}
    )
    assert cancelled == 1
    assert f"training job {doomed_id} cancelled" in caplog.text
