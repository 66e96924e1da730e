"""Dispatchers: queued jobs run in a real pool of spawned training processes, or here."""

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from anyio import to_thread
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from mlapi.metrics import Metrics
from mlapi.serving.errors import TrainingFailedError
from mlapi.serving.jobs import dispatcher as dispatcher_module
from mlapi.serving.jobs.dispatcher import Activate, InlineDispatcher, PoolDispatcher
from mlapi.serving.jobs.follow import follow_job
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.records import JobState, TrainingJob
from mlapi.serving.registry import Registry
from mlapi.serving.tables import TrainingJobRow, utc_now
from mlapi.settings import ErrorDetail, Settings
from tests.serving.specs import SLOW_START_SECONDS, boosting_spec, start_slowly, training_spec

#: Safety net for a job to finish (spawning a process and importing scikit-learn included).
JOB_TIMEOUT = 120


@contextlib.asynccontextmanager
async def _running(
    settings: Settings, jobs: JobStore, registry: Registry, workers: int = 1
) -> AsyncIterator[tuple[PoolDispatcher, list[tuple[str, int]]]]:
    """Run a pool dispatcher whose jobs activate their versions in ``registry``."""
    activated: list[tuple[str, int]] = []

    async def activate(version: int, activated_by: str) -> None:
        await to_thread.run_sync(registry.activate, version, activated_by)
        activated.append((activated_by.removeprefix("training job "), version))

    dispatcher = PoolDispatcher(
        settings.model_copy(update={"training_workers": workers}), jobs, activate
    )
    dispatcher.start()
    try:
        yield dispatcher, activated
    finally:
        await dispatcher.stop()


async def _finished(jobs: JobStore, job_id: str) -> TrainingJob:
    """Wait for a job to finish, whether it succeeded or failed."""

    async def get(job_id: str) -> TrainingJob:
        return await to_thread.run_sync(jobs.get, job_id)

    with contextlib.suppress(TrainingFailedError):
        await asyncio.wait_for(follow_job(get, job_id, poll=0.02), timeout=JOB_TIMEOUT)
    return await get(job_id)


async def _one_job(settings: Settings, jobs: JobStore, activate: Activate) -> TrainingJob:
    """Run one queued job through a pool dispatcher that activates with ``activate``."""
    dispatcher = PoolDispatcher(settings, jobs, activate)
    dispatcher.start()
    try:
        job = jobs.create(training_spec())
        return await _finished(jobs, job.id)
    finally:
        await dispatcher.stop()


async def _no_activation(version: int, activated_by: str) -> None:
    raise AssertionError(f"version {version} was not to be activated")


async def _until(jobs: JobStore, job_id: str, state: JobState) -> TrainingJob:
    deadline = time.monotonic() + JOB_TIMEOUT
    while (job := await to_thread.run_sync(jobs.get, job_id)).state is not state:
        assert time.monotonic() < deadline, f"job never became {state}: {job}"
        await asyncio.sleep(0.01)
    return job


def test_queued_job_runs_and_its_version_is_activated(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    registry.bootstrap()

    async def scenario() -> tuple[TrainingJob, list[tuple[str, int]]]:
        async with _running(registry_settings, jobs, registry) as (dispatcher, activated):
            job = jobs.create(boosting_spec(5, created_by="alice"))
            dispatcher.submit(job)
            return await _finished(jobs, job.id), activated

    done, activated = asyncio.run(scenario())

    assert done.state is JobState.SUCCEEDED, done.error
    assert done.progress == 1.0
    assert done.model_version is not None
    assert activated == [(done.id, done.model_version)]
    state = registry.active()
    assert state is not None
    assert (state.version, state.generation) == (done.model_version, 2)
    version = registry.get(done.model_version)
    assert (version.algorithm, version.created_by) == ("gradient_boosting", "alice")
    assert version.hyperparameters["n_estimators"] == 5


def test_a_job_whose_training_process_starts_late_runs_once(
    registry_settings: Settings,
    jobs: JobStore,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Spawning the process outlasts a claim's staleness: the dispatcher must keep its
    # claim alive, or its own sweep requeues the job and a free slot claims it again.
    monkeypatch.setattr(dispatcher_module, "start_training_process", start_slowly)
    settings = registry_settings.model_copy(update={"job_stale_seconds": 1.5})
    registry.bootstrap()
    metrics = Metrics()

    async def scenario() -> TrainingJob:
        dispatcher = PoolDispatcher(
            settings.model_copy(update={"training_workers": 2}), jobs, _no_activation, metrics
        )
        dispatcher.start()
        try:
            job = jobs.create(training_spec(activate=False))
            dispatcher.submit(job)
            return await _finished(jobs, job.id)
        finally:
            await dispatcher.stop()

    done = asyncio.run(scenario())

    assert done.state is JobState.SUCCEEDED, done.error
    assert settings.job_stale_seconds * 2 < SLOW_START_SECONDS
    started = metrics.registry.get_sample_value(
        "mlapi_training_jobs_total", {"state": JobState.RUNNING}
    )
    assert started == 1


def test_stopping_an_idle_dispatcher_ends_its_warming_processes_rather_than_waiting(
    registry_settings: Settings,
    jobs: JobStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On a loaded machine a training process can take many seconds to start: a server
    # told to stop (SIGTERM) must not wait for it, or it outlives its grace period.
    monkeypatch.setattr(dispatcher_module, "start_training_process", start_slowly)
    mark = tmp_path / "started"
    monkeypatch.setenv("MLAPI_TEST_STARTED_MARK", str(mark))

    async def scenario() -> list[int]:
        dispatcher = PoolDispatcher(registry_settings, jobs, _no_activation)
        dispatcher.start()  # a server of one worker warms its pool at once
        pool = dispatcher._pool
        assert pool is not None
        processes = list((pool._processes or {}).values())
        assert processes
        await dispatcher.stop()
        return [process.exitcode for process in processes]

    exit_codes = asyncio.run(scenario())

    assert not mark.exists()  # ended while starting, not waited for
    assert all(code is not None for code in exit_codes)  # and reaped


def test_job_not_asking_for_activation_registers_without_activating(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    before = registry.bootstrap()

    async def scenario() -> tuple[TrainingJob, list[tuple[str, int]]]:
        async with _running(registry_settings, jobs, registry) as (_, activated):
            job = jobs.create(training_spec(activate=False))
            return await _finished(jobs, job.id), activated

    done, activated = asyncio.run(scenario())

    assert done.state is JobState.SUCCEEDED, done.error
    assert activated == []
    assert registry.active() == before
    assert registry.get(done.model_version).version == done.model_version  # type: ignore[arg-type]


def test_job_whose_activation_fails_is_failed_naming_its_version(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    async def refuse(version: int, activated_by: str) -> None:
        raise RuntimeError("no activations today")

    # With full error detail the job says why; with safe (the default), only the log does.
    settings = registry_settings.model_copy(update={"error_detail": ErrorDetail.FULL})
    done = asyncio.run(_one_job(settings, jobs, refuse))

    assert done.state is JobState.FAILED
    assert done.error is not None
    assert f"registered version {done.model_version}" in done.error
    assert "no activations today" in done.error


def test_a_job_stays_alive_while_its_version_takes_long_to_activate(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    stale = 1.5
    settings = registry_settings.model_copy(update={"job_stale_seconds": stale})
    swept: list[int] = []

    async def slow(version: int, activated_by: str) -> None:
        # Reading a large model in a helper process takes seconds; a sweep meanwhile
        # (any replica's) must not take the job for one whose process died.
        await asyncio.sleep(stale + 1)
        swept.append(await to_thread.run_sync(jobs.sweep, stale))
        await to_thread.run_sync(registry.activate, version, activated_by)

    done = asyncio.run(_one_job(settings, jobs, slow))

    assert swept == [0]
    assert done.state is JobState.SUCCEEDED, done.error
    assert registry.active().version == done.model_version


def test_job_failing_in_the_training_process_is_marked_failed(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    async def scenario() -> TrainingJob:
        async with _running(registry_settings, jobs, registry) as _:
            job = jobs.create(training_spec(algorithm="random_forest"))
            return await _finished(jobs, job.id)

    done = asyncio.run(scenario())

    assert done.state is JobState.FAILED
    assert done.error is not None
    assert "unknown algorithm" in done.error
    assert registry.page().total == 0


def test_job_past_the_pool_size_waits_queued_until_a_process_is_free(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    async def scenario() -> tuple[TrainingJob, TrainingJob, TrainingJob]:
        async with _running(registry_settings, jobs, registry, workers=1) as _:
            first = jobs.create(boosting_spec(300))
            second = jobs.create(training_spec())
            await _until(jobs, first.id, JobState.RUNNING)
            waiting = await to_thread.run_sync(jobs.get, second.id)
            await _finished(jobs, second.id)
            return waiting, jobs.get(first.id), jobs.get(second.id)

    waiting, first, second = asyncio.run(scenario())

    assert waiting.state is JobState.QUEUED
    assert waiting.started_at is None
    assert first.state is second.state is JobState.SUCCEEDED
    assert first.finished_at is not None
    assert second.started_at is not None
    assert second.started_at >= first.finished_at


def test_two_training_processes_run_every_queued_job(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    async def scenario() -> list[TrainingJob]:
        async with _running(registry_settings, jobs, registry, workers=2) as _:
            specs = [training_spec(hyperparameters={"max_depth": d}) for d in (1, 2, 3)]
            created = [jobs.create(spec) for spec in specs]
            return [await _finished(jobs, job.id) for job in created]

    done = asyncio.run(scenario())

    assert [job.state for job in done] == [JobState.SUCCEEDED] * 3
    assert len({job.model_version for job in done}) == 3


def test_killed_training_process_fails_its_job_and_later_jobs_still_run(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    async def scenario() -> tuple[TrainingJob, TrainingJob]:
        async with _running(registry_settings, jobs, registry, workers=1) as (dispatcher, _):
            doomed = jobs.create(boosting_spec(5000))
            await _until(jobs, doomed.id, JobState.RUNNING)
            pool = dispatcher._pool
            assert pool is not None
            (pid,) = list(pool._processes)
            os.kill(pid, signal.SIGKILL)
            killed = await _finished(jobs, doomed.id)
            later = jobs.create(training_spec())
            return killed, await _finished(jobs, later.id)

    killed, later = asyncio.run(scenario())

    assert killed.state is JobState.FAILED
    assert killed.error == "the training process died (killed, or out of memory)"
    assert killed.model_version is None
    assert later.state is JobState.SUCCEEDED, later.error


def test_start_up_sweep_fails_a_job_left_running_by_a_previous_process(
    registry_settings: Settings, jobs: JobStore, registry: Registry, engine: Engine
) -> None:
    orphan = jobs.create(training_spec(), worker="previous-server")
    jobs.start(orphan.id)
    with Session(engine) as session, session.begin():
        session.execute(
            update(TrainingJobRow)
            .where(TrainingJobRow.id == orphan.id)
            .values(heartbeat_at=utc_now() - timedelta(minutes=10))
        )

    async def scenario() -> TrainingJob:
        async with _running(registry_settings, jobs, registry) as _:
            return await _finished(jobs, orphan.id)

    swept = asyncio.run(scenario())

    assert swept.state is JobState.FAILED
    assert swept.error is not None
    assert swept.error.startswith("interrupted")


def test_inline_dispatcher_runs_a_submitted_job_here_and_activates_its_version(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    registry.bootstrap()
    activated: list[tuple[int, str]] = []

    async def activate(version: int, activated_by: str) -> None:
        await to_thread.run_sync(registry.activate, version, activated_by)
        activated.append((version, activated_by))

    async def scenario() -> tuple[TrainingJob, TrainingJob | None]:
        dispatcher = InlineDispatcher(registry_settings, jobs, activate)
        job = jobs.create(training_spec(), worker=dispatcher.claimant)
        claimed_by_a_server = jobs.claim("a-server")
        dispatcher.submit(job)
        await dispatcher.stop()  # waits for the jobs running here
        return jobs.get(job.id), claimed_by_a_server

    done, claimed_by_a_server = asyncio.run(scenario())

    assert claimed_by_a_server is None
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.model_version is not None
    assert activated == [(done.model_version, f"training job {done.id}")]
    state = registry.active()
    assert state is not None
    assert state.version == done.model_version


def test_inline_dispatcher_records_a_job_that_fails_and_activates_nothing(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    before = registry.bootstrap()

    async def never(version: int, activated_by: str) -> None:
        raise AssertionError("a failed job activates nothing")

    async def scenario() -> TrainingJob:
        dispatcher = InlineDispatcher(registry_settings, jobs, never)
        job = jobs.create(training_spec(test_size=0.99), worker=dispatcher.claimant)
        dispatcher.submit(job)
        await dispatcher.stop()
        return jobs.get(job.id)

    failed = asyncio.run(scenario())

    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert failed.error.startswith("cannot train on this data")
    assert registry.active() == before


def test_a_job_whose_success_cannot_be_recorded_is_failed_naming_its_version(
    registry_settings: Settings,
    jobs: JobStore,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry.bootstrap()

    def refuse(self: JobStore, job_id: str) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(JobStore, "succeed", refuse)

    async def activate(version: int, activated_by: str) -> None:
        await to_thread.run_sync(registry.activate, version, activated_by)

    async def scenario() -> TrainingJob:
        settings = registry_settings.model_copy(update={"error_detail": ErrorDetail.FULL})
        dispatcher = InlineDispatcher(settings, jobs, activate)
        job = jobs.create(training_spec(), worker=dispatcher.claimant)
        dispatcher.submit(job)
        return await _finished(jobs, job.id)

    done = asyncio.run(scenario())

    assert done.state is JobState.FAILED
    assert done.model_version is not None
    assert done.error == (
        f"registered version {done.model_version} but could not record its success: "
        "RuntimeError: database is locked"
    )
