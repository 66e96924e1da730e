"""Training jobs run on a Dask cluster: claimed here, trained there, finished here.

A server configured with ``MLAPI_DASK_SCHEDULER`` runs a :class:`DaskDispatcher`
instead of a pool of training processes. It claims queued rows as the pool does,
submits each as a task to the cluster (:func:`train_on_cluster`, which runs
:func:`~mlapi.serving.jobs.worker.execute_job` with scikit-learn's own parallelism on
joblib's Dask backend), and finishes the job itself, as the pool does, since only a
server can activate a version in its own process.

The lease: a Dask task outlives the replica that submitted it, so the job's heartbeat
is the dispatcher's, not the task's. The dispatcher renews the heartbeat of every job it
holds; the task writes only progress. A replica that dies stops renewing, so the next
sweep (any replica's) fails its jobs, and their tasks, finding them no longer running,
stop without registering a version. A Dask worker that dies mid-job may have its task
re-run elsewhere by the scheduler; the re-run finds the job already running and does
nothing, and the dispatcher fails the job: it never runs twice.

Cancelling: a cancelled job's task finds it no longer running at its next progress
write and stops, registering nothing, as when its lease expires. The dispatcher, seeing
one of its jobs no longer renewed, also cancels the job's Dask future, so that a task
still waiting for a Dask worker never starts, and frees the job's slot at once.
"""

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import math
from typing import Any

from anyio import to_thread
from distributed import Client, KilledWorker

from mlapi.metrics import Metrics
from mlapi.serving.jobs.claiming import ClaimingDispatcher
from mlapi.serving.jobs.finish import (
    Activate,
    Outcome,
    finish_job,
)
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.jobs.worker import HEARTBEAT_SECONDS, describe, execute_job
from mlapi.serving.records import JobState, TrainingJob
from mlapi.settings import Settings

logger = logging.getLogger(__name__)

#: Seconds between attempts to reach a scheduler that could not be reached.
RECONNECT_SECONDS = 5.0

WORKER_DIED = "the Dask worker running it died (killed, or out of memory)"
CONNECTION_LOST = "lost contact with the Dask scheduler while it ran"


def train_on_cluster(job_id: str, settings_json: str, claimed_by: str) -> int | None:
    """Run one training job in a Dask worker: the task the dispatcher submits.

    Estimators with ``n_jobs`` spread their work over the cluster through joblib's Dask
    backend, not over the worker's threads alone.

    Returns:
        The registered version, or None (see :func:`execute_job`).
    """
    with cluster_parallelism():
        return execute_job(
            job_id, settings_json, claimed_by=claimed_by, lease_held_by_dispatcher=True
        )


def cluster_parallelism() -> contextlib.AbstractContextManager[object]:
    """Make joblib (scikit-learn's ``n_jobs``) run on the Dask cluster, inside one of its tasks."""
    import joblib  # in the worker only

    context: contextlib.AbstractContextManager[object] = joblib.parallel_config(backend="dask")
    return context


class DaskDispatcher(ClaimingDispatcher):
    """Claims queued jobs, runs them on a Dask cluster, and holds their leases.

    Args:
        settings: The scheduler's address, how many jobs at once, the heartbeat timeout
            and what the jobs need.
        jobs: Where the jobs' rows are: any server process may claim them.
        activate: Serves a registered version from this process and records it active.
        metrics: Where the jobs run here, and those swept as failed, are counted; its
            own if None.
        worker: This dispatcher's identity in the jobs' ``worker`` column.
    """

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        activate: Activate,
        metrics: Metrics | None = None,
        *,
        worker: str,
    ) -> None:
        if settings.dask_scheduler is None:
            raise ValueError("a Dask dispatcher needs MLAPI_DASK_SCHEDULER")
        slots = settings.dask_jobs or settings.training_workers
        super().__init__(settings, jobs, activate, metrics, worker=worker, slots=slots)
        self._address = settings.dask_scheduler
        self._client: Client | None = None
        self._reconnect_at = -math.inf
        self._futures: dict[str, Any] = {}  # each running job's Dask future, by job id
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start connecting, claiming jobs and holding their leases (call from the event loop)."""
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="dask-dispatcher"),
            asyncio.create_task(self._hold_leases(), name="dask-leases"),
        ]

    async def stop(self) -> None:
        """Stop claiming; fail the jobs still running here, whose tasks then stop."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        running = list(self._running.items())
        for _, task in running:
            task.cancel()
        await asyncio.gather(*(task for _, task in running), return_exceptions=True)
        for job_id, _ in running:
            # Without this, each would wait for a sweep once its lease had expired.
            with contextlib.suppress(Exception):
                await to_thread.run_sync(
                    self._jobs.fail, job_id, "interrupted: the server running it stopped"
                )
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()  # type: ignore[no-untyped-call]

    async def _hold_leases(self) -> None:
        # A task of its own: connecting or claiming must never delay a renewal.
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if not self._running:  # holds every job claimed here until it ends
                continue
            try:
                renewed = await to_thread.run_sync(
                    functools.partial(self._jobs.renew, self.worker, running=True)
                )
                if renewed < len(self._running):  # one ended, or was cancelled
                    await self._drop_cancelled()
            except Exception:
                logger.exception("could not renew the leases of the training jobs running here")

    async def _drop_cancelled(self) -> None:
        """Cancel the Dask futures of the jobs running here that were cancelled."""
        for job_id, future in list(self._futures.items()):
            job = await to_thread.run_sync(self._jobs.get, job_id)
            if job.state is JobState.CANCELLED and self._client is not None:
                await self._client.cancel(  # type: ignore[no-untyped-call]
                    [future], reason="the training job was cancelled"
                )

    async def _can_claim(self) -> bool:
        # Unreachable cluster: jobs stay queued, for this replica or another.
        return await self._connected() is not None

    async def _connected(self) -> Client | None:
        """The client, connected; None while the scheduler cannot be reached."""
        client = self._client
        if client is not None and client.status in {"running", "connecting", "newly-created"}:
            return client if client.status == "running" else None
        if client is not None:  # it gave up reconnecting
            logger.warning("lost the Dask scheduler at %s; reconnecting", self._address)
            self._client = None
            with contextlib.suppress(Exception):
                await client.close()  # type: ignore[no-untyped-call]
        loop = asyncio.get_running_loop()
        if loop.time() < self._reconnect_at:
            return None
        try:
            connecting: Any = Client(  # type: ignore[no-untyped-call]
                self._address,
                asynchronous=True,
                timeout=self._settings.dask_connect_timeout,
                set_as_default=False,
            )
            self._client = await connecting
        except Exception as error:
            self._reconnect_at = loop.time() + RECONNECT_SECONDS
            logger.warning(
                "cannot reach the Dask scheduler at %s (%s); training jobs stay queued, "
                "trying again in %.0f s",
                self._address,
                error or type(error).__name__,
                RECONNECT_SECONDS,
            )
            return None
        logger.info("training jobs run on the Dask cluster of %s", self._address)
        return self._client

    async def _execute(self, job: TrainingJob) -> Outcome:
        failure: str | None = None
        try:
            client = self._client  # connected just before the claim (_can_claim)
            if client is None:
                raise RuntimeError("the Dask dispatcher is stopping")
            future = client.submit(
                train_on_cluster,
                job.id,
                self._settings_json,
                self.worker,
                key=f"mlapi-training-{job.id}",
                pure=False,
                retries=0,
            )
            self._futures[job.id] = future
            version: int | None = await future
        except KilledWorker:
            failure = WORKER_DIED
        except concurrent.futures.CancelledError as error:  # Dask's, not this task's
            # The client cancels its futures when it loses the scheduler.
            reason = getattr(error, "reason", None)
            lost = reason in {None, "scheduler-connection-lost"}
            failure = CONNECTION_LOST if lost else f"cancelled on the Dask cluster: {reason}"
        except Exception as error:
            logger.exception("could not run training job %s on the Dask cluster", job.id)
            failure = describe(error, self._settings.error_detail)
        finally:
            self._futures.pop(job.id, None)
        if failure is None and version is not None:
            detail = self._settings.error_detail
            return await finish_job(self._jobs, job, version, self._activate, detail), version
        current = await to_thread.run_sync(self._jobs.get, job.id)
        if current.state is JobState.CANCELLED:  # its task stopped, or never started it
            return JobState.CANCELLED, None
        if current.state is JobState.QUEUED:
            # It never started (its worker died first): back to the queue, to run again.
            await to_thread.run_sync(self._jobs.release, job.id, self.worker)
            return None, None
        if current.state is JobState.RUNNING:
            # No task runs it any more (running jobs are this dispatcher's while it holds
            # their lease): its worker died and a re-run found it already running (see
            # JobStore.start), or the scheduler is gone.
            failure = failure or WORKER_DIED
            logger.warning("training job %s failed: %s", job.id, failure)
            await to_thread.run_sync(self._jobs.fail, job.id, failure)
        return JobState.FAILED, None
