"""Training jobs: queued in the registry database, run in separate worker processes.

A job is a row. Server processes claim queued rows as their pool of training processes
has room, so any replica can run any job and a job queued past the pool size waits.
The training process reports progress and a heartbeat; a job whose heartbeat stops
(its process was killed) is failed by whichever server sweeps first, and so are jobs
left running when a server restarts.
"""

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing import get_context
from typing import Any

from anyio import to_thread
from sqlalchemy import Engine, select, update

from mlapi.ml import MlapiError
from mlapi.ml.estimators import get_estimator
from mlapi.serving.database import make_engine, read_page, session_factory
from mlapi.serving.registry import Registry, from_row
from mlapi.serving.store import ModelStore
from mlapi.serving.tables import JobState, TrainingJobRow, utc_now
from mlapi.serving.training import train_on_dataset
from mlapi.settings import Settings

logger = logging.getLogger(__name__)

#: Share of a job's progress that fitting the estimator accounts for.
FIT_SHARE = 0.9

#: Seconds between a training process's progress and heartbeat writes.
HEARTBEAT_SECONDS = 0.5


class JobNotFoundError(MlapiError):
    """No training job has that id."""


class TrainingFailedError(MlapiError):
    """A training job that a caller waited for failed."""


@dataclass(frozen=True)
class TrainingRequest:
    """What to train.

    Attributes:
        algorithm: Estimator name in the catalogue.
        hyperparameters: Validated hyperparameters, defaults filled in.
        test_size: Share of rows held out for evaluation.
        random_state: Seed of the held-out split.
        activate: Whether to activate the new version once registered.
        created_by: Who asked.
    """

    algorithm: str
    hyperparameters: dict[str, Any]
    test_size: float
    random_state: int
    activate: bool
    created_by: str


@dataclass(frozen=True)
class TrainingJob:
    """A training job and what became of it.

    Attributes:
        id: Its identifier (a UUID).
        state: Queued, running, succeeded or failed.
        progress: Share of the training done, from 0 to 1.
        algorithm: Estimator name in the catalogue.
        hyperparameters: Validated hyperparameters.
        test_size: Share of rows held out for evaluation.
        random_state: Seed of the held-out split.
        activate: Whether the new version is activated on success.
        created_by: Who asked.
        created_at: When it was queued.
        started_at: When training began.
        finished_at: When it succeeded or failed.
        model_version: The version it registered, once it has.
        error: Why it failed.
    """

    id: str
    state: JobState
    progress: float
    algorithm: str
    hyperparameters: dict[str, Any]
    test_size: float
    random_state: int
    activate: bool
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    model_version: int | None
    error: str | None

    @property
    def finished(self) -> bool:
        """Whether the job has succeeded or failed."""
        return self.state in {JobState.SUCCEEDED, JobState.FAILED}


def make_request(
    settings: Settings,
    *,
    algorithm: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
    test_size: float | None = None,
    random_state: int | None = None,
    activate: bool = True,
    created_by: str = "api",
) -> TrainingRequest:
    """Validate what to train against the catalogue, filling in configured defaults.

    Args:
        settings: Default algorithm, hyperparameters, test size and seed.
        algorithm: Estimator name; the configured default if None.
        hyperparameters: Hyperparameters over the configured defaults.
        test_size: Held-out share; the configured one if None.
        random_state: Seed of the split; the configured one if None.
        activate: Whether to activate the new version on success.
        created_by: Who asks.

    Returns:
        The validated request.

    Raises:
        InvalidInputError: If the algorithm or a hyperparameter is invalid.
    """
    spec = get_estimator(algorithm or settings.default_algorithm)
    defaults = settings.hyperparameters.get(spec.name, {})
    params = spec.validate({**defaults, **(hyperparameters or {})})
    return TrainingRequest(
        algorithm=spec.name,
        hyperparameters=params.model_dump(mode="json"),
        test_size=settings.test_size if test_size is None else test_size,
        random_state=settings.random_state if random_state is None else random_state,
        activate=activate,
        created_by=created_by,
    )


class JobStore:
    """Training job rows: create, claim, report, finish, sweep.

    Args:
        engine: The registry database.
    """

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def create(self, request: TrainingRequest, worker: str | None = None) -> TrainingJob:
        """Queue a job.

        Args:
            request: What to train.
            worker: Claim it for this worker at once; left for any server if None.

        Returns:
            The queued job.
        """
        now = utc_now()
        row = TrainingJobRow(
            id=str(uuid.uuid4()),
            state=JobState.QUEUED,
            progress=0.0,
            created_at=now,
            worker=worker,
            heartbeat_at=now if worker else None,
            **{name: getattr(request, name) for name in TrainingRequest.__dataclass_fields__},
        )
        with self._sessions.begin() as session:
            session.add(row)
        return from_row(TrainingJob, row)

    def get(self, job_id: str) -> TrainingJob:
        """Look up a job.

        Args:
            job_id: Its id.

        Returns:
            The job.

        Raises:
            JobNotFoundError: If there is no such job.
        """
        with self._sessions() as session:
            row = session.get(TrainingJobRow, job_id)
        if row is None:
            raise JobNotFoundError(f"training job {job_id} does not exist")
        return from_row(TrainingJob, row)

    def page(self, limit: int = 50, offset: int = 0) -> tuple[list[TrainingJob], int]:
        """List jobs, newest first.

        Args:
            limit: Most jobs returned.
            offset: Jobs skipped first.

        Returns:
            The page of jobs and the total number of jobs.
        """
        order = [TrainingJobRow.created_at.desc(), TrainingJobRow.id]
        rows, total = read_page(self._sessions, TrainingJobRow, order, limit, offset)
        return [from_row(TrainingJob, row) for row in rows], total

    def claim(self, worker: str) -> TrainingJob | None:
        """Take the oldest unclaimed queued job for this worker.

        Args:
            worker: Identity of the claiming server process.

        Returns:
            The claimed job, or None if none is waiting.
        """
        with self._sessions.begin() as session:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            row = session.scalars(
                select(TrainingJobRow)
                .where(TrainingJobRow.state == JobState.QUEUED, TrainingJobRow.worker.is_(None))
                .order_by(TrainingJobRow.created_at, TrainingJobRow.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            row.worker, row.heartbeat_at = worker, utc_now()
        return from_row(TrainingJob, row)

    def _update(self, job_id: str, *conditions: Any, **values: Any) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                update(TrainingJobRow)
                .where(TrainingJobRow.id == job_id, *conditions)
                .values(**values)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release(self, job_id: str) -> None:
        """Put a claimed job that never started back in the queue.

        Args:
            job_id: The job.
        """
        self._update(job_id, TrainingJobRow.state == JobState.QUEUED, worker=None)

    def start(self, job_id: str) -> None:
        """Mark a job running.

        Args:
            job_id: The job.
        """
        now = utc_now()
        self._update(job_id, state=JobState.RUNNING, started_at=now, heartbeat_at=now)

    def report(self, job_id: str, progress: float) -> None:
        """Record progress and that the training process is alive.

        Args:
            job_id: The job.
            progress: Share done, from 0 to 1.
        """
        self._update(
            job_id,
            TrainingJobRow.state == JobState.RUNNING,
            progress=min(max(progress, 0.0), 1.0),
            heartbeat_at=utc_now(),
        )

    def record_version(self, job_id: str, version: int) -> None:
        """Record the version a running job registered.

        Args:
            job_id: The job.
            version: The registered version.
        """
        self._update(job_id, model_version=version, progress=1.0, heartbeat_at=utc_now())

    def succeed(self, job_id: str) -> None:
        """Mark a job succeeded.

        Args:
            job_id: The job.
        """
        self._update(
            job_id,
            TrainingJobRow.state == JobState.RUNNING,
            state=JobState.SUCCEEDED,
            progress=1.0,
            finished_at=utc_now(),
        )

    def fail(self, job_id: str, error: str) -> None:
        """Mark a job failed, unless it already finished.

        Args:
            job_id: The job.
            error: Why, for the client.
        """
        self._update(
            job_id,
            TrainingJobRow.state.in_([JobState.QUEUED, JobState.RUNNING]),
            state=JobState.FAILED,
            error=error,
            finished_at=utc_now(),
        )

    def sweep(self, stale_seconds: float) -> int:
        """Fail running jobs whose process stopped reporting; requeue stale claims.

        Args:
            stale_seconds: How long without a heartbeat makes a job stale.

        Returns:
            How many running jobs were failed.
        """
        cutoff = utc_now() - timedelta(seconds=stale_seconds)
        with self._sessions.begin() as session:
            failed = session.execute(
                update(TrainingJobRow)
                .where(
                    TrainingJobRow.state == JobState.RUNNING,
                    TrainingJobRow.heartbeat_at < cutoff,
                )
                .values(
                    state=JobState.FAILED,
                    finished_at=utc_now(),
                    error="interrupted: the process running it stopped before it finished",
                )
            )
            session.execute(
                update(TrainingJobRow)
                .where(
                    TrainingJobRow.state == JobState.QUEUED,
                    TrainingJobRow.worker.is_not(None),
                    TrainingJobRow.heartbeat_at < cutoff,
                )
                .values(worker=None)
            )
        count = int(failed.rowcount)  # type: ignore[attr-defined]
        if count:
            logger.warning("failed %d interrupted training job(s)", count)
        return count


def execute_job(
    job_id: str, settings_json: str, progress: Callable[[float], None] | None = None
) -> int | None:
    """Run one training job to the registration of its model. Runs in a training process.

    Activation, if the job asks for it, is left to the caller, which then marks the job
    succeeded.

    Args:
        job_id: The job, already claimed.
        settings_json: The server's settings, as JSON.
        progress: Also told of progress, for a caller in the same process.

    Returns:
        The registered version, or None if the job failed (the failure is recorded).
    """
    settings = Settings(**json.loads(settings_json))
    engine = make_engine(settings.registry_url)
    jobs = JobStore(engine)
    registry = Registry(engine, ModelStore(settings.model_dir))
    done = [0.0]
    stop = threading.Event()

    def report(share: float) -> None:
        # Fitting is 90 % of a job; evaluating, saving and registering bring it to 100 %.
        done[0] = FIT_SHARE * share
        if progress is not None:
            progress(done[0])

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            jobs.report(job_id, done[0])

    beating = threading.Thread(target=heartbeat, name=f"heartbeat-{job_id}", daemon=True)
    try:
        job = jobs.get(job_id)
        jobs.start(job_id)
        beating.start()
        classifier = train_on_dataset(
            settings,
            algorithm=job.algorithm,
            hyperparameters=job.hyperparameters,
            test_size=job.test_size,
            random_state=job.random_state,
            progress=report,
        )
        version = registry.register(classifier, created_by=job.created_by)
        jobs.record_version(job_id, version.version)
        return version.version
    except Exception as error:
        logger.exception("training job %s failed", job_id)
        jobs.fail(job_id, describe(error))
        return None
    finally:
        stop.set()
        if beating.is_alive():
            beating.join()
        engine.dispose()


def _warm_up() -> None:
    """Import what a training needs, in a fresh training process."""


def _exit_with_parent(parent: int) -> None:
    """Make a training process end when the server that started it is gone.

    A server killed outright (SIGKILL, OOM) cannot shut its pool down; without this its
    idle training processes would live on, orphaned.

    Args:
        parent: Process id of the server.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def describe(error: BaseException) -> str:
    """Say what went wrong, for a job's error field.

    Args:
        error: The exception.

    Returns:
        One line for domain errors; the exception's type and message otherwise.
    """
    if isinstance(error, MlapiError):
        return str(error)
    return "".join(traceback.format_exception_only(error)).strip()


class TrainingRunner:
    """Claims queued jobs and runs them in a pool of training processes.

    Args:
        settings: Pool size, heartbeat timeout and what the jobs need.
        jobs: The job rows.
        on_registered: Called (in this process) with a job that registered a version
            and asks for activation, before it is marked succeeded.
    """

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        on_registered: Callable[[TrainingJob, int], Awaitable[None]],
    ) -> None:
        self._settings = settings
        self._settings_json = settings.model_dump_json()
        self._jobs = jobs
        self._on_registered = on_registered
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pool: ProcessPoolExecutor | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start claiming jobs (call from the event loop), and warm the training processes."""
        self._task = asyncio.create_task(self._dispatch(), name="training-dispatcher")
        # Starting a process and importing scikit-learn takes a second or two: do it now,
        # not when the first job arrives.
        executor = self._executor()
        for _ in range(self._settings.training_workers):
            executor.submit(_warm_up)

    def wake(self) -> None:
        """Look for queued jobs now rather than at the next tick."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Stop claiming; training processes already running finish on their own."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is not None:
            # Idle processes are reaped (no leaked semaphores at exit); a server that is
            # stopping does not wait for a training still running.
            idle = not self._running
            await to_thread.run_sync(lambda: pool.shutdown(wait=idle, cancel_futures=True))

    async def _dispatch(self) -> None:
        await to_thread.run_sync(self._jobs.sweep, self._settings.job_stale_seconds)
        loop = asyncio.get_running_loop()
        last_sweep = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=HEARTBEAT_SECONDS)
            self._wakeup.clear()
            try:
                if loop.time() - last_sweep > HEARTBEAT_SECONDS * 2:
                    last_sweep = loop.time()
                    await to_thread.run_sync(self._jobs.sweep, self._settings.job_stale_seconds)
                while len(self._running) < self._settings.training_workers:
                    job = await to_thread.run_sync(self._jobs.claim, self.worker)
                    if job is None:
                        break
                    task = asyncio.create_task(self._run(job), name=f"training-{job.id}")
                    self._running.add(task)
                    task.add_done_callback(self._running.discard)
            except Exception:
                logger.exception("the training dispatcher failed; retrying")

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: forking a process that runs threads and an event loop is unsafe.
            self._pool = ProcessPoolExecutor(
                max_workers=self._settings.training_workers,
                mp_context=get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    async def _run(self, job: TrainingJob) -> None:
        try:
            executor = self._executor()
            future = executor.submit(execute_job, job.id, self._settings_json)
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
            else:
                await to_thread.run_sync(
                    self._jobs.fail,
                    job.id,
                    "the training process died (killed, or out of memory)",
                )
            return
        except Exception as error:
            logger.exception("could not run training job %s", job.id)
            await to_thread.run_sync(self._jobs.fail, job.id, describe(error))
            return
        finally:
            self.wake()
        if version is None:
            return
        try:
            if job.activate:
                await self._on_registered(job, version)
        except Exception as error:
            logger.exception("could not activate version %s of job %s", version, job.id)
            await to_thread.run_sync(
                self._jobs.fail,
                job.id,
                f"registered version {version} but could not activate it: {describe(error)}",
            )
            return
        await to_thread.run_sync(self._jobs.succeed, job.id)

    async def wait(self, job_id: str, poll: float = 0.05) -> TrainingJob:
        """Wait until a job finishes, wherever it runs.

        Args:
            job_id: The job.
            poll: Seconds between looks.

        Returns:
            The finished job.
        """
        while True:
            job = await to_thread.run_sync(self._jobs.get, job_id)
            if job.finished:
                return job
            await asyncio.sleep(poll)
