"""TrainingRunner: queued jobs run in a real pool of spawned training processes."""

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from anyio import to_thread
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from mlapi.serving.jobs import JobStore, TrainingJob, TrainingRequest, TrainingRunner
from mlapi.serving.registry import Registry
from mlapi.serving.tables import JobState, TrainingJobRow, utc_now
from mlapi.settings import Settings

#: Safety net for a job to finish (spawning a process and importing scikit-learn included).
JOB_TIMEOUT = 120


def _request(**changes: Any) -> TrainingRequest:
    values: dict[str, Any] = {
        "algorithm": "decision_tree",
        "hyperparameters": {},
        "test_size": 0.2,
        "random_state": 0,
        "activate": True,
        "created_by": "test",
    }
    return TrainingRequest(**{**values, **changes})


def _boosting(n_estimators: int, **changes: Any) -> TrainingRequest:
    return _request(
        algorithm="gradient_boosting", hyperparameters={"n_estimators": n_estimators}, **changes
    )


@contextlib.asynccontextmanager
async def _running(
    settings: Settings, jobs: JobStore, registry: Registry, workers: int = 1
) -> AsyncIterator[tuple[TrainingRunner, list[tuple[str, int]]]]:
    """Run a runner whose jobs activate their versions in ``registry``."""
    activated: list[tuple[str, int]] = []

    async def on_registered(job: TrainingJob, version: int) -> None:
        await to_thread.run_sync(registry.activate, version, f"job {job.id}")
        activated.append((job.id, version))

    runner = TrainingRunner(
        settings.model_copy(update={"training_workers": workers}), jobs, on_registered
    )
    runner.start()
    try:
        yield runner, activated
    finally:
        await runner.stop()


async def _finished(runner: TrainingRunner, job_id: str) -> TrainingJob:
    return await asyncio.wait_for(runner.wait(job_id, poll=0.02), timeout=JOB_TIMEOUT)


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
        async with _running(registry_settings, jobs, registry) as (runner, activated):
            job = jobs.create(_boosting(5, created_by="alice"))
            runner.wake()
            return await _finished(runner, job.id), activated

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


def test_job_not_asking_for_activation_registers_without_activating(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    before = registry.bootstrap()

    async def scenario() -> tuple[TrainingJob, list[tuple[str, int]]]:
        async with _running(registry_settings, jobs, registry) as (runner, activated):
            job = jobs.create(_request(activate=False))
            return await _finished(runner, job.id), activated

    done, activated = asyncio.run(scenario())

    assert done.state is JobState.SUCCEEDED, done.error
    assert activated == []
    assert registry.active() == before
    assert registry.get(done.model_version).version == done.model_version  # type: ignore[arg-type]


def test_job_whose_activation_fails_is_failed_naming_its_version(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    async def refuse(job: TrainingJob, version: int) -> None:
        raise RuntimeError("no activations today")

    async def scenario() -> TrainingJob:
        runner = TrainingRunner(registry_settings, jobs, refuse)
        runner.start()
        try:
            job = jobs.create(_request())
            return await _finished(runner, job.id)
        finally:
            await runner.stop()

    done = asyncio.run(scenario())

    assert done.state is JobState.FAILED
    assert done.error is not None
    assert f"registered version {done.model_version}" in done.error
    assert "no activations today" in done.error


def test_job_failing_in_the_training_process_is_marked_failed(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    async def scenario() -> TrainingJob:
        async with _running(registry_settings, jobs, registry) as (runner, _):
            job = jobs.create(_request(algorithm="random_forest"))
            return await _finished(runner, job.id)

    done = asyncio.run(scenario())

    assert done.state is JobState.FAILED
    assert done.error is not None
    assert "unknown algorithm" in done.error
    assert registry.page()[1] == 0


def test_job_past_the_pool_size_waits_queued_until_a_process_is_free(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    async def scenario() -> tuple[TrainingJob, TrainingJob, TrainingJob]:
        async with _running(registry_settings, jobs, registry, workers=1) as (runner, _):
            first = jobs.create(_boosting(300))
            second = jobs.create(_request())
            await _until(jobs, first.id, JobState.RUNNING)
            waiting = await to_thread.run_sync(jobs.get, second.id)
            await _finished(runner, second.id)
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
        async with _running(registry_settings, jobs, registry, workers=2) as (runner, _):
            created = [jobs.create(_request(hyperparameters={"max_depth": d})) for d in (1, 2, 3)]
            return [await _finished(runner, job.id) for job in created]

    done = asyncio.run(scenario())

    assert [job.state for job in done] == [JobState.SUCCEEDED] * 3
    assert len({job.model_version for job in done}) == 3


def test_killed_training_process_fails_its_job_and_later_jobs_still_run(
    registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    async def scenario() -> tuple[TrainingJob, TrainingJob]:
        async with _running(registry_settings, jobs, registry, workers=1) as (runner, _):
            doomed = jobs.create(_boosting(5000))
            await _until(jobs, doomed.id, JobState.RUNNING)
            pool = runner._pool
            assert pool is not None
            (pid,) = list(pool._processes)
            os.kill(pid, signal.SIGKILL)
            killed = await _finished(runner, doomed.id)
            later = jobs.create(_request())
            return killed, await _finished(runner, later.id)

    killed, later = asyncio.run(scenario())

    assert killed.state is JobState.FAILED
    assert killed.error == "the training process died (killed, or out of memory)"
    assert killed.model_version is None
    assert later.state is JobState.SUCCEEDED, later.error


def test_start_up_sweep_fails_a_job_left_running_by_a_previous_process(
    registry_settings: Settings, jobs: JobStore, registry: Registry, engine: Engine
) -> None:
    orphan = jobs.create(_request(), worker="previous-server")
    jobs.start(orphan.id)
    with Session(engine) as session, session.begin():
        session.execute(
            update(TrainingJobRow)
            .where(TrainingJobRow.id == orphan.id)
            .values(heartbeat_at=utc_now() - timedelta(minutes=10))
        )

    async def scenario() -> TrainingJob:
        async with _running(registry_settings, jobs, registry) as (runner, _):
            return await _finished(runner, orphan.id)

    swept = asyncio.run(scenario())

    assert swept.state is JobState.FAILED
    assert swept.error is not None
    assert swept.error.startswith("interrupted")
