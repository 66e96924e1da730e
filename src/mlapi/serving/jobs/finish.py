"""How a job run here ends: activated and marked succeeded, or failed or cancelled; counted, logged.

:func:`finish_job` is the one place a job that registered its version is finished, in
the server process that dispatched it (only it can swap the model it serves).
:func:`queued` counts and logs a job as a dispatcher is handed it;
:func:`started` and :func:`ended` bracket each job a dispatcher runs: they count it
(``mlapi_training_jobs_total``, ``mlapi_training_jobs_running``,
``mlapi_training_job_duration_seconds``) and log its start and its end, and every line
logged meanwhile carries the id of the request that queued it. A :class:`Sweeper` fails
the jobs, any server's, whose heartbeat stopped, and counts them.
"""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from anyio import to_thread

from mlapi.logs import REQUEST_ID
from mlapi.metrics import Metrics
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.jobs.worker import HEARTBEAT_SECONDS, describe
from mlapi.serving.records import JobState, TrainingJob
from mlapi.settings import ErrorDetail

logger = logging.getLogger(__name__)

#: Activates a registered version: ``activate(version, activated_by)``.
Activate = Callable[[int, str], Awaitable[object]]

#: How a job run here ended, and the version it registered: ``(None, None)`` for a job
#: put back in the queue.
Outcome = tuple[JobState | None, int | None]


async def finish_job(
    jobs: JobStore, job: TrainingJob, version: int, activate: Activate, detail: ErrorDetail
) -> JobState:
    """Finish a job that registered its version: activate it if asked, then mark it succeeded.

    The one place a job is finished. If activating it or recording its success fails, the
    job is marked failed, naming its version (which stays registered). A job no longer
    running (cancelled meanwhile, or failed by a sweep) is neither activated nor marked
    succeeded: its version stays registered, inactive. One cancelled while its version
    is being activated stays cancelled, its version active.

    Args:
        jobs: Where the job's row is.
        job: The job as claimed; its ``activate`` says whether to activate the version.
        version: The version it registered.
        activate: Serves the version from the dispatching process and records it active.
        detail: How much of a failure the job's error tells (:func:`describe`).

    Returns:
        Succeeded, failed, or cancelled.
    """
    step = "activate it"
    try:
        if (current := await to_thread.run_sync(jobs.get, job.id)).state is not JobState.RUNNING:
            logger.warning(
                "training job %s registered version %s but is %s: the version is not activated",
                job.id,
                version,
                current.state,
            )
            return _stopped(current.state)
        if job.activate:
            # Reading a large model can take longer than a job may go without a heartbeat.
            beating = asyncio.create_task(_keep_alive(jobs, job.id), name=f"alive-{job.id}")
            try:
                await activate(version, f"training job {job.id}")
            finally:
                beating.cancel()
                await asyncio.gather(beating, return_exceptions=True)
        step = "record its success"
        if not await to_thread.run_sync(jobs.succeed, job.id):
            # Cancelled while it was being activated: it stays cancelled, and active.
            return _stopped((await to_thread.run_sync(jobs.get, job.id)).state)
    except Exception as error:
        logger.exception("could not %s: version %s of job %s", step, version, job.id)
        await to_thread.run_sync(
            jobs.fail,
            job.id,
            f"registered version {version} but could not {step}: {describe(error, detail)}",
        )
        return JobState.FAILED
    return JobState.SUCCEEDED


async def without_version(jobs: JobStore, job_id: str) -> JobState:
    """Say how a job whose training process registered no version ended: cancelled, or failed."""
    return _stopped((await to_thread.run_sync(jobs.get, job_id)).state)


def _stopped(state: JobState) -> JobState:
    return JobState.CANCELLED if state is JobState.CANCELLED else JobState.FAILED


def queued(job: TrainingJob, metrics: Metrics) -> None:
    """Count and log a job just queued (on behalf of the request being served, if any)."""
    metrics.job_entered(JobState.QUEUED)
    logger.info(
        "queued training job %s",
        job.id,
        extra={"job_id": job.id, "algorithm": job.algorithm, "created_by": job.created_by},
    )


def started(job: TrainingJob, metrics: Metrics) -> float:
    """Count and log a job starting here; call from the task that runs it.

    Returns:
        When it started (``time.monotonic``).
    """
    REQUEST_ID.set(job.request_id)  # this task's context: every line of the job carries it
    metrics.job_started()
    logger.info(
        "training job %s started",
        job.id,
        extra={"job_id": job.id, "algorithm": job.algorithm, "activate": job.activate},
    )
    return time.monotonic()


def ended(job: TrainingJob, metrics: Metrics, started: float, outcome: Outcome) -> None:
    """Count and log how a job that ran here ended."""
    state, version = outcome
    seconds = time.monotonic() - started
    metrics.job_ended(state, seconds)
    fields = {"job_id": job.id, "model_version": version, "duration_seconds": round(seconds, 3)}
    if state is JobState.SUCCEEDED:
        logger.info("training job %s succeeded: version %s", job.id, version, extra=fields)
    elif state is JobState.FAILED:
        logger.warning("training job %s failed", job.id, extra=fields)
    elif state is JobState.CANCELLED:
        logger.info("training job %s cancelled", job.id, extra=fields)
    else:
        logger.info("training job %s is queued again", job.id, extra=fields)


async def _keep_alive(jobs: JobStore, job_id: str) -> None:
    """Report a running job alive, as its training process did, until cancelled."""
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        await to_thread.run_sync(jobs.report, job_id, 1.0)


class Sweeper:
    """Fails the jobs, any server's, whose heartbeat or lease stopped; requeues stale claims.

    Call it at every turn of a dispatcher's loop: it sweeps at most every two heartbeats,
    and at its first call, so that jobs a previous process left running go first.

    Args:
        jobs: Where the jobs' rows are.
        stale_seconds: How long without a heartbeat makes a job stale.
        metrics: Where the jobs it fails are counted.
    """

    def __init__(self, jobs: JobStore, stale_seconds: float, metrics: Metrics) -> None:
        self._jobs = jobs
        self._stale_seconds = stale_seconds
        self._metrics = metrics
        self._last = -math.inf

    async def __call__(self) -> None:
        """Sweep, if two heartbeats have passed since the last time."""
        now = time.monotonic()
        if now - self._last <= HEARTBEAT_SECONDS * 2:
            return
        self._last = now
        swept = await to_thread.run_sync(self._jobs.sweep, self._stale_seconds)
        if swept:
            self._metrics.job_entered(JobState.FAILED, swept)
