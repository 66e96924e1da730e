"""Where training jobs run: a pool of training processes fed from the queue, or this process.

A server runs a :class:`PoolDispatcher` (or, with a Dask scheduler configured, a
:class:`~mlapi.serving.jobs.cluster.DaskDispatcher`): it claims queued rows while its
pool has room, so any replica can run any job, keeps those claims alive until their
training process starts (so a slow start never hands a job to a second claimant), and
sweeps jobs whose training process died. The CLI's ``mlapi train --wait`` runs an
:class:`InlineDispatcher`, which runs the job it was just given in a thread of its own
process. Either way a job that registered its version ends in
:func:`~mlapi.serving.jobs.finish.finish_job`, the one place that activates it and
marks it succeeded, and each job run here is counted and logged
(:mod:`~mlapi.serving.jobs.finish`).
"""

import asyncio
import functools
import logging
import os
import socket
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from enum import StrEnum
from multiprocessing import get_context
from typing import Protocol

from anyio import to_thread

from mlapi.metrics import Metrics
from mlapi.serving.jobs.claiming import ClaimingDispatcher
from mlapi.serving.jobs.finish import (
    Activate,
    Outcome,
    ended,
    finish_job,
    queued,
    started,
    without_version,
)
from mlapi.serving.jobs.process import start_training_process
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.jobs.worker import describe, execute_job, warm_up
from mlapi.serving.records import JobState, TrainingJob
from mlapi.settings import Settings

logger = logging.getLogger(__name__)


class Training(StrEnum):
    """Where the training jobs a service queues run."""

    POOL = "pool"
    """Claimed from the queue, in a pool of training processes or, with a scheduler
    configured, on a Dask cluster: what a server does."""
    HERE = "here"
    """In this process, as they are queued: ``mlapi train --wait`` without a server."""
    ELSEWHERE = "elsewhere"
    """Nowhere here: they stay queued for a server to claim."""


def dispatcher_for(
    training: Training,
    settings: Settings,
    jobs: JobStore,
    activate: Activate,
    metrics: Metrics | None = None,
) -> "Dispatcher | None":
    """Make what runs the training jobs a service queues.

    Args:
        training: Where they run.
        settings: Pool size, heartbeat timeout and what the jobs need.
        jobs: Where their rows are.
        activate: Serves a registered version from this process and records it active.
        metrics: Where the jobs run here are counted.

    Returns:
        The dispatcher; None if the jobs are left for a server.
    """
    if training is Training.POOL and settings.dask_scheduler is not None:
        return _dask_dispatcher(settings, jobs, activate, metrics)
    if training is Training.POOL:
        return PoolDispatcher(settings, jobs, activate, metrics)
    if training is Training.HERE:
        return InlineDispatcher(settings, jobs, activate, metrics)
    return None


def _dask_dispatcher(
    settings: Settings, jobs: JobStore, activate: Activate, metrics: Metrics | None
) -> "Dispatcher":
    try:
        from mlapi.serving.jobs.cluster import DaskDispatcher
    except ImportError as error:
        raise RuntimeError(
            "MLAPI_DASK_SCHEDULER is set but dask.distributed is not installed: "
            "install the mlapi[dask] extra"
        ) from error
    return DaskDispatcher(settings, jobs, activate, metrics, worker=_worker_id("dask"))


def _worker_id(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher(Protocol):
    """Runs the training jobs a service queues."""

    @property
    def claimant(self) -> str | None:
        """The worker new jobs are claimed for as they are queued; None leaves them to any."""

    def start(self) -> None:
        """Start running jobs (call from the event loop)."""

    def submit(self, job: TrainingJob) -> None:
        """Run, or look for, a job just queued."""

    async def stop(self) -> None:
        """Stop taking jobs."""


class PoolDispatcher(ClaimingDispatcher):
    """Claims queued jobs and runs them in a pool of training processes.

    Args:
        settings: Pool size, heartbeat timeout and what the jobs need.
        jobs: Where the jobs' rows are: any server process may claim them.
        activate: Serves a registered version from this process and records it active.
        metrics: Where the jobs run here, and those swept as failed, are counted; its
            own if None.
    """

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        activate: Activate,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(
            settings,
            jobs,
            activate,
            metrics,
            worker=_worker_id("server"),
            slots=settings.training_workers,
        )
        self._pool: ProcessPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start claiming jobs (call from the event loop), and warm the training processes.

        Only a server of one worker warms them: with several, each worker's pool starts
        when that worker first claims a job, rather than every worker keeping its own
        idle training processes (~150 MiB each).
        """
        self._task = asyncio.create_task(self._dispatch(), name="training-dispatcher")
        if self._settings.workers > 1:
            return
        # Starting a process and importing scikit-learn takes a second or two: do it now,
        # not when the first job arrives.
        executor = self._executor()
        for _ in range(self._settings.training_workers):
            executor.submit(warm_up)

    async def stop(self) -> None:
        """Stop claiming; training processes already running finish on their own."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._running:
            # A server that is stopping does not wait for a training still running.
            pool.shutdown(wait=False, cancel_futures=True)
            return
        # Idle processes are ended, not waited for: one still warming up (importing
        # scikit-learn at a low priority on a loaded machine) could hold a SIGTERM up
        # for longer than an orchestrator's grace period. Then they are reaped, so that
        # no semaphore leaks at exit.
        _terminate_workers(pool)
        await to_thread.run_sync(lambda: pool.shutdown(wait=True, cancel_futures=True))

    async def _before_sweep(self) -> None:
        if self._running:  # claims whose training process is still starting
            await to_thread.run_sync(self._jobs.renew, self.worker)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: forking a process that runs threads and an event loop is unsafe.
            self._pool = ProcessPoolExecutor(
                max_workers=self._settings.training_workers,
                mp_context=get_context("spawn"),
                initializer=start_training_process,
                initargs=(
                    os.getpid(),
                    self._settings.training_niceness,
                    (self._settings.log_level.value, self._settings.log_format.value),
                ),
            )
        return self._pool

    async def _execute(self, job: TrainingJob) -> Outcome:
        try:
            executor = self._executor()
            future = executor.submit(
                execute_job, job.id, self._settings_json, claimed_by=self.worker
            )
            version = await asyncio.wrap_future(future)
        except BrokenProcessPool:
            # Every job of a broken pool lands here; only the first replaces the pool,
            # or a pool started meanwhile for new jobs would be dropped unawaited.
            if self._pool is executor:
                self._pool = None
                executor.shutdown(wait=False, cancel_futures=True)
            current = await to_thread.run_sync(self._jobs.get, job.id)
            if current.state == JobState.QUEUED:
                await to_thread.run_sync(self._jobs.release, job.id)
                return None, None
            await to_thread.run_sync(
                self._jobs.fail,
                job.id,
                "the training process died (killed, or out of memory)",
            )
            return JobState.FAILED, None
        except Exception as error:
            logger.exception("could not run training job %s", job.id)
            detail = self._settings.error_detail
            await to_thread.run_sync(self._jobs.fail, job.id, describe(error, detail))
            return JobState.FAILED, None
        if version is None:  # failed, cancelled, or not this worker's any more
            return await without_version(self._jobs, job.id), None
        detail = self._settings.error_detail
        return await finish_job(self._jobs, job, version, self._activate, detail), version


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """End a pool's processes at once, whatever they are doing."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    # No public way before 3.14: the pool's own table of its processes.
    for process in list((pool._processes or {}).values()):
        process.terminate()


class InlineDispatcher:
    """Runs each job it is given in a thread of this process, at once.

    For ``mlapi train --wait`` without a server: the job is claimed for this process as
    it is queued, so no server picks it up as well.

    Args:
        settings: What the jobs need.
        jobs: Where the jobs' rows are.
        activate: Serves a registered version and records it active.
        metrics: Where the jobs are counted; its own if None.
    """

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        activate: Activate,
        metrics: Metrics | None = None,
    ) -> None:
        self._settings_json = settings.dump_for_workers()
        self._detail = settings.error_detail
        self._jobs = jobs
        self._activate = activate
        self._metrics = metrics or Metrics()
        self.claimant = _worker_id("cli")
        self._running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Nothing to start: jobs run as they are submitted."""

    def submit(self, job: TrainingJob) -> None:
        """Run a job just queued and claimed for this process."""
        queued(job, self._metrics)
        task = asyncio.create_task(self._run(job), name=f"training-{job.id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def stop(self) -> None:
        """Wait for the jobs running here to finish."""
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _run(self, job: TrainingJob) -> None:
        begun = started(job, self._metrics)
        outcome: Outcome = (JobState.FAILED, None)
        try:
            run = functools.partial(execute_job, claimed_by=self.claimant)
            version = await to_thread.run_sync(run, job.id, self._settings_json)
            if version is not None:
                state = await finish_job(self._jobs, job, version, self._activate, self._detail)
                outcome = (state, version)
            else:
                outcome = (await without_version(self._jobs, job.id), None)
        except Exception as error:  # nothing here sweeps: a job left running would never end
            logger.exception("could not run training job %s", job.id)
            await to_thread.run_sync(self._jobs.fail, job.id, describe(error, self._detail))
        finally:
            ended(job, self._metrics, begun, outcome)
