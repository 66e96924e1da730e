"""The Dask dispatcher: queued jobs run on a real Dask cluster (a scheduler, two workers).

On PostgreSQL only: a Dask cluster's workers reach the registry over the network, which
a SQLite file does not offer.
"""

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import joblib
import pytest
from anyio import to_thread
from distributed import Scheduler

from mlapi.metrics import Metrics
from mlapi.serving.jobs.cluster import WORKER_DIED, DaskDispatcher, cluster_parallelism
from mlapi.serving.jobs.dispatcher import PoolDispatcher, Training, dispatcher_for
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.records import JobState, TrainingJob
from mlapi.serving.registry import Registry
from mlapi.settings import Settings
from tests.conftest import fresh_database
from tests.e2e.cluster import DaskCluster
from tests.e2e.conftest import free_port
from tests.serving.specs import boosting_spec, training_spec, until_fitting

#: Safety net for a job to reach a state (a worker importing scikit-learn included).
JOB_TIMEOUT = 120


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh registry database on the PostgreSQL server."""
    with fresh_database("postgresql", tmp_path) as url:
        yield url


@contextlib.asynccontextmanager
async def _running(
    settings: Settings, jobs: JobStore, registry: Registry, metrics: Metrics | None = None
) -> AsyncIterator[tuple[DaskDispatcher, list[int]]]:
    """Run a Dask dispatcher whose jobs activate their versions in ``registry``."""
    activated: list[int] = []

    async def activate(version: int, activated_by: str) -> None:
        await to_thread.run_sync(registry.activate, version, activated_by)
        activated.append(version)

    dispatcher = DaskDispatcher(settings, jobs, activate, metrics, worker="dask:test")
    dispatcher.start()
    try:
        yield dispatcher, activated
    finally:
        await dispatcher.stop()


def _on(cluster: DaskCluster, settings: Settings) -> Settings:
    return settings.model_copy(update={"dask_scheduler": cluster.address, "job_stale_seconds": 2})


async def _until(jobs: JobStore, job_id: str, *states: JobState) -> TrainingJob:
    deadline = time.monotonic() + JOB_TIMEOUT
    while (job := await to_thread.run_sync(jobs.get, job_id)).state not in states:
        assert time.monotonic() < deadline, f"job never became {states}: {job}"
        await asyncio.sleep(0.02)
    return job


async def _finished(jobs: JobStore, job_id: str) -> TrainingJob:
    return await _until(jobs, job_id, JobState.SUCCEEDED, JobState.FAILED)


def _key(job: TrainingJob) -> str:
    return f"mlapi-training-{job.id}"


def test_a_job_runs_on_the_cluster_reports_progress_and_is_activated(
    dask_cluster: DaskCluster, registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    registry.bootstrap()
    settings = _on(dask_cluster, registry_settings)

    async def scenario() -> tuple[TrainingJob, list[float], list[int]]:
        async with _running(settings, jobs, registry) as (dispatcher, activated):
            job = jobs.create(boosting_spec(400, created_by="alice"))
            dispatcher.submit(job)
            seen = []
            while (current := await to_thread.run_sync(jobs.get, job.id)).state in {
                JobState.QUEUED,
                JobState.RUNNING,
            }:
                seen.append(current.progress)
                await asyncio.sleep(0.05)
            return current, seen, activated

    done, seen, activated = asyncio.run(scenario())

    assert done.state is JobState.SUCCEEDED, done.error
    assert (done.progress, activated) == (1.0, [done.model_version])
    assert any(0 < share < 1 for share in seen), seen
    assert seen == sorted(seen)
    assert registry.active().version == done.model_version  # type: ignore[union-attr]
    assert registry.get(done.model_version).created_by == "alice"  # type: ignore[arg-type]
    with dask_cluster.client() as client:
        story = client.story(_key(done))
    assert any(event[2] == "memory" for event in story), story  # the cluster ran it


def test_a_job_failing_on_the_cluster_is_failed_and_registers_nothing(
    dask_cluster: DaskCluster, registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    settings = _on(dask_cluster, registry_settings)

    async def scenario() -> TrainingJob:
        async with _running(settings, jobs, registry) as _:
            job = jobs.create(training_spec(algorithm="random_forest"))
            return await _finished(jobs, job.id)

    done = asyncio.run(scenario())

    assert done.state is JobState.FAILED
    assert "unknown algorithm" in (done.error or "")
    assert registry.page().total == 0


def test_a_job_whose_dask_worker_dies_fails_runs_once_and_later_jobs_run(
    dask_cluster: DaskCluster, registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    settings = _on(dask_cluster, registry_settings)
    metrics = Metrics()

    async def scenario() -> tuple[TrainingJob, TrainingJob]:
        async with _running(settings, jobs, registry, metrics) as _:
            doomed = jobs.create(boosting_spec(5000, activate=False))
            await _until(jobs, doomed.id, JobState.RUNNING)
            await to_thread.run_sync(dask_cluster.kill_worker_running, _key(doomed))
            killed = await _finished(jobs, doomed.id)
            later = jobs.create(training_spec(activate=False))
            return killed, await _finished(jobs, later.id)

    try:
        killed, later = asyncio.run(scenario())
    finally:
        dask_cluster.wait_for_workers(2)  # its nanny restarts it, for the next tests

    # The scheduler ran the task again on the other worker; it found the job running
    # already and left it, so it trained once and registered nothing.
    assert killed.state is JobState.FAILED
    assert killed.error == WORKER_DIED
    assert killed.model_version is None
    assert later.state is JobState.SUCCEEDED, later.error
    assert [v.version for v in registry.page().items] == [later.model_version]
    started = metrics.registry.get_sample_value(
        "mlapi_training_jobs_total", {"state": JobState.RUNNING}
    )
    assert started == 2


def test_a_task_whose_job_fails_meanwhile_stops_without_registering(
    dask_cluster: DaskCluster, registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    # As a sweep does when the dispatcher's lease expired (its replica died).
    settings = _on(dask_cluster, registry_settings)

    async def scenario() -> TrainingJob:
        async with _running(settings, jobs, registry) as (dispatcher, _):
            job = jobs.create(boosting_spec(5000, activate=False))
            await _until(jobs, job.id, JobState.RUNNING)
            await to_thread.run_sync(jobs.fail, job.id, "interrupted: swept")
            deadline = time.monotonic() + JOB_TIMEOUT
            while dispatcher._running:  # until the task has ended
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            return await to_thread.run_sync(jobs.get, job.id)

    done = asyncio.run(scenario())

    assert (done.state, done.error, done.model_version) == (
        JobState.FAILED,
        "interrupted: swept",
        None,
    )
    assert registry.page().total == 0
    assert f"training job {done.id} stopped" in dask_cluster.log()


def test_a_job_cancelled_on_the_cluster_ends_cancelled_and_the_next_job_runs(
    dask_cluster: DaskCluster, registry_settings: Settings, jobs: JobStore, registry: Registry
) -> None:
    settings = _on(dask_cluster, registry_settings).model_copy(update={"dask_jobs": 1})
    metrics = Metrics()

    async def scenario() -> tuple[TrainingJob, TrainingJob]:
        async with _running(settings, jobs, registry, metrics) as _:
            doomed = jobs.create(boosting_spec(5000, activate=False))
            await until_fitting(jobs, doomed.id)
            later = jobs.create(training_spec(activate=False))
            await to_thread.run_sync(jobs.cancel, doomed.id, "alice")
            await _finished(jobs, later.id)
            return await to_thread.run_sync(jobs.get, doomed.id), later

    doomed, later = asyncio.run(scenario())

    assert (doomed.state, doomed.error) == (JobState.CANCELLED, "cancelled by alice")
    assert doomed.model_version is None
    later = jobs.get(later.id)
    assert later.state is JobState.SUCCEEDED, later.error
    assert [v.version for v in registry.page().items] == [later.model_version]
    cancelled = metrics.registry.get_sample_value(
        "mlapi_training_jobs_total", {"state": JobState.CANCELLED}
    )
    assert cancelled == 1
    # Its task stopped (the dispatcher may have cancelled its future before that, too).
    deadline = time.monotonic() + JOB_TIMEOUT
    while f"training job {doomed.id} stopped" not in dask_cluster.log():
        assert time.monotonic() < deadline, dask_cluster.log()
        time.sleep(0.05)


def test_an_unreachable_scheduler_leaves_jobs_queued_and_says_why(
    registry_settings: Settings,
    jobs: JobStore,
    registry: Registry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    settings = registry_settings.model_copy(
        update={"dask_scheduler": address, "dask_connect_timeout": 0.5}
    )

    async def scenario() -> TrainingJob:
        async with _running(settings, jobs, registry) as (dispatcher, _):
            job = jobs.create(training_spec())
            dispatcher.submit(job)
            deadline = time.monotonic() + JOB_TIMEOUT
            while "cannot reach the Dask scheduler" not in caplog.text:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            return await to_thread.run_sync(jobs.get, job.id)

    with caplog.at_level(logging.WARNING, logger="mlapi.serving.jobs.cluster"):
        waiting = asyncio.run(scenario())

    assert waiting.state is JobState.QUEUED
    assert jobs.claim("another-server") is not None  # unclaimed: any replica may run it
    assert address in caplog.text


def test_jobs_wait_queued_while_the_scheduler_is_gone_and_go_to_it_once_it_is_back(
    registry_settings: Settings,
    jobs: JobStore,
    registry: Registry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A real scheduler in this process, without workers: a job submitted to it waits.
    port = free_port()
    settings = registry_settings.model_copy(
        update={"dask_scheduler": f"tcp://127.0.0.1:{port}", "dask_connect_timeout": 0.5}
    )

    async def submitted(scheduler: Scheduler, key: str) -> None:
        deadline = time.monotonic() + JOB_TIMEOUT
        while key not in scheduler.tasks:
            assert time.monotonic() < deadline, caplog.text
            await asyncio.sleep(0.05)

    async def scenario() -> tuple[TrainingJob, TrainingJob]:
        first = await Scheduler(
            host="127.0.0.1", port=port, dashboard=False, dashboard_address="127.0.0.1:0"
        )
        async with _running(settings, jobs, registry):
            job = jobs.create(training_spec())
            await submitted(first, _key(job))
            await first.close()
            deadline = time.monotonic() + JOB_TIMEOUT
            while "cannot reach the Dask scheduler" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                await asyncio.sleep(0.05)
            waiting = await to_thread.run_sync(jobs.get, job.id)
            async with Scheduler(
                host="127.0.0.1", port=port, dashboard=False, dashboard_address="127.0.0.1:0"
            ) as again:
                await submitted(again, _key(job))
                resubmitted = await to_thread.run_sync(jobs.get, job.id)
            return waiting, resubmitted

    with caplog.at_level(logging.INFO, logger="mlapi.serving.jobs.cluster"):
        waiting, resubmitted = asyncio.run(scenario())

    assert waiting.state is JobState.QUEUED  # put back: it never started
    assert resubmitted.state is JobState.QUEUED
    assert "lost the Dask scheduler" in caplog.text


def test_parallel_work_inside_a_training_task_runs_on_the_cluster_workers(
    dask_cluster: DaskCluster,
) -> None:
    def pids_of_parallel_work() -> tuple[str, int, set[int]]:
        # A local function, sent by value: the workers do not have the test package.
        with cluster_parallelism():  # as in a training task, around an n_jobs estimator
            backend, _ = joblib.parallel.get_active_backend()
            pids = joblib.Parallel(n_jobs=-1)(joblib.delayed(os.getpid)() for _ in range(16))
        return type(backend).__name__, os.getpid(), set(pids)

    with dask_cluster.client() as client:
        backend, task_pid, pids = client.submit(pids_of_parallel_work, pure=False).result()
        worker_pids = set(client.run(os.getpid).values())

    assert backend == "DaskDistributedBackend"
    assert task_pid in worker_pids
    assert pids <= worker_pids  # in the Dask workers, not a local pool of the task's


def test_a_server_trains_on_dask_only_with_a_scheduler_configured(
    registry_settings: Settings, jobs: JobStore
) -> None:
    async def activate(version: int, activated_by: str) -> None:
        raise AssertionError("nothing runs here")

    on_dask = registry_settings.model_copy(update={"dask_scheduler": "tcp://127.0.0.1:8786"})

    dask = dispatcher_for(Training.POOL, on_dask, jobs, activate)
    pool = dispatcher_for(Training.POOL, registry_settings, jobs, activate)
    here = dispatcher_for(Training.HERE, on_dask, jobs, activate)  # mlapi train --wait

    assert isinstance(dask, DaskDispatcher)
    assert dask.worker.startswith("dask:")
    assert isinstance(pool, PoolDispatcher)
    assert not isinstance(here, DaskDispatcher | PoolDispatcher)
