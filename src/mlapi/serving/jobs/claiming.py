"""What a server's dispatchers share: claim queued jobs while there is room, run each here.

:class:`ClaimingDispatcher` is the base of the
:class:`~mlapi.serving.jobs.dispatcher.PoolDispatcher` (a pool of training processes)
and the :class:`~mlapi.serving.jobs.cluster.DaskDispatcher` (a Dask cluster). Its loop
sweeps stale jobs, claims queued ones while fewer than its slots run, and runs each as a
task of this process, counted and logged from start to end; a subclass says how a job
runs (:meth:`ClaimingDispatcher._execute`) and, through two hooks, what it does before
each sweep and whether it can take jobs now.
"""

import asyncio
import contextlib
import logging

from anyio import to_thread

from mlapi.metrics import Metrics
from mlapi.serving.jobs.finish import Activate, Outcome, Sweeper, ended, queued, started
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.jobs.worker import HEARTBEAT_SECONDS
from mlapi.serving.records import JobState, TrainingJob
from mlapi.settings import Settings

logger = logging.getLogger(__name__)


class ClaimingDispatcher:
    """Claims queued jobs while it has room and runs each as a task of this process.

    Args:
        settings: The heartbeat timeout and what the jobs need (sent to where they run,
            secrets included).
        jobs: Where the jobs' rows are: any server process may claim them.
        activate: Serves a registered version from this process and records it active.
        metrics: Where the jobs run here, and those swept as failed, are counted; its
            own if None.
        worker: This dispatcher's identity in the jobs' ``worker`` column.
        slots: Most jobs it runs at once.
    """

    claimant = None

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        activate: Activate,
        metrics: Metrics | None,
        *,
        worker: str,
        slots: int,
    ) -> None:
        self._settings = settings
        self._settings_json = settings.dump_for_workers()
        self._jobs = jobs
        self._activate = activate
        self._metrics = metrics or Metrics()
        self.worker = worker
        self._slots = slots
        self._running: dict[str, asyncio.Task[None]] = {}
        self._wakeup = asyncio.Event()

    def submit(self, job: TrainingJob) -> None:
        """Count and log a job just queued, and look for queued jobs now, not at the next tick."""
        queued(job, self._metrics)
        self._wakeup.set()

    async def _before_sweep(self) -> None:
        """Do what each turn of the loop needs before its sweep (nothing here)."""

    async def _can_claim(self) -> bool:
        """Whether jobs can be taken now (always, here)."""
        return True

    async def _execute(self, job: TrainingJob) -> Outcome:
        """Run a claimed job to its end; say how it ended and the version it registered."""
        raise NotImplementedError

    async def _dispatch(self) -> None:
        sweep = Sweeper(self._jobs, self._settings.job_stale_seconds, self._metrics)
        while True:
            try:
                await self._before_sweep()
                await sweep()
                if await self._can_claim():
                    while len(self._running) < self._slots:
                        job = await to_thread.run_sync(self._jobs.claim, self.worker)
                        if job is None:
                            break
                        self._running[job.id] = asyncio.create_task(
                            self._run(job), name=f"training-{job.id}"
                        )
            except Exception:
                logger.exception("the training dispatcher failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=HEARTBEAT_SECONDS)
            self._wakeup.clear()

    async def _run(self, job: TrainingJob) -> None:
        begun = started(job, self._metrics)
        outcome: Outcome = (JobState.FAILED, None)
        try:
            outcome = await self._execute(job)
        finally:
            ended(job, self._metrics, begun, outcome)
            # Its slot is free: claim the next job now, not at the next tick.
            self._running.pop(job.id, None)
            self._wakeup.set()
