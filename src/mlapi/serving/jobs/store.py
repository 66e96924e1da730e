"""Training job rows: created, claimed by one server process, reported on, finished, swept.

A job is a row of the registry database. Any server process may claim a queued row
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, an immediate transaction on
SQLite), so each job runs exactly once whichever replica claims it. A row whose
heartbeat stops is failed by whichever server sweeps first. A queued or running job
may be cancelled from anywhere: every later write about it is conditioned on its
state, so nothing overwrites a cancelled (or otherwise finished) job, and its training
process, finding it no longer running at its next write, stops.
"""

import dataclasses
import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from mlapi.serving.database import read_page, session_factory
from mlapi.serving.errors import JobFinishedError, JobNotFoundError, QueueFullError
from mlapi.serving.records import JobPage, JobState, TrainingJob, TrainingSpec
from mlapi.serving.tables import TrainingJobRow, to_record, utc_now

logger = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock that servers queueing a job take in turn.
_QUEUE_LOCK = 0x6D6C_6A6F  # "mljo"


class JobStore:
    """Training job rows: create, claim, report, finish, sweep.

    Args:
        engine: The registry database.
    """

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def create(
        self,
        spec: TrainingSpec,
        worker: str | None = None,
        max_queued: int | None = None,
        request_id: str | None = None,
    ) -> TrainingJob:
        """Queue a job.

        Args:
            spec: What to train.
            worker: Claim it for this worker at once; left for any server if None.
            max_queued: Refuse the job if this many are already waiting to run (counted
                and queued in one transaction that server processes take in turn).
            request_id: The id of the request that queues it, for the job's log lines.

        Returns:
            The queued job.

        Raises:
            QueueFullError: If ``max_queued`` jobs are already waiting; nothing is queued.
        """
        now = utc_now()
        row = TrainingJobRow(
            id=str(uuid.uuid4()),
            state=JobState.QUEUED,
            progress=0.0,
            created_at=now,
            worker=worker,
            heartbeat_at=now if worker else None,
            request_id=request_id,
            **{each.name: getattr(spec, each.name) for each in dataclasses.fields(spec)},
        )
        with self._sessions.begin() as session:
            if max_queued is not None:
                self._check_room(session, max_queued)
            session.add(row)
        return to_record(TrainingJob, row)

    @staticmethod
    def _check_room(session: Session, max_queued: int) -> None:
        connection = session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        if connection.dialect.name == "postgresql":
            # Two servers counting at once would both see room for one more.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _QUEUE_LOCK})
        waiting = session.scalar(
            select(func.count())
            .select_from(TrainingJobRow)
            .where(TrainingJobRow.state == JobState.QUEUED)
        )
        if (waiting or 0) >= max_queued:
            raise QueueFullError(
                f"{waiting} training jobs are already waiting to run, the most allowed "
                "(MLAPI_MAX_QUEUED_JOBS); try again once one has started"
            )

    def get(self, job_id: str) -> TrainingJob:
        """Look up a job.

        Returns:
            The job.

        Raises:
            JobNotFoundError: If there is no such job.
        """
        with self._sessions() as session:
            row = session.get(TrainingJobRow, job_id)
        if row is None:
            raise JobNotFoundError(f"training job {job_id} does not exist")
        return to_record(TrainingJob, row)

    def page(self, limit: int = 50, offset: int = 0) -> JobPage:
        """List jobs, newest first.

        Args:
            limit: Most jobs returned.
            offset: Jobs skipped first.

        Returns:
            The page of jobs and the total number of jobs.
        """
        order = [TrainingJobRow.created_at.desc(), TrainingJobRow.id]
        rows, total = read_page(self._sessions, TrainingJobRow, order, limit, offset)
        items = [to_record(TrainingJob, row) for row in rows]
        return JobPage(items=items, total=total, limit=limit, offset=offset)

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
        return to_record(TrainingJob, row)

    def cancel(self, job_id: str, by: str) -> TrainingJob:
        """Cancel a queued or running job; its training process stops at its next write.

        Args:
            job_id: The job.
            by: Who cancels it, recorded in its ``error``.

        Returns:
            The job, now cancelled.

        Raises:
            JobNotFoundError: If there is no such job.
            JobFinishedError: If it already succeeded, failed or was cancelled (left so).
        """
        cancelled = self._update(
            job_id,
            TrainingJobRow.state.in_([JobState.QUEUED, JobState.RUNNING]),
            state=JobState.CANCELLED,
            error=f"cancelled by {by}",
            finished_at=utc_now(),
        )
        job = self.get(job_id)
        if not cancelled:
            raise JobFinishedError(f"training job {job_id} already {job.state}")
        return job

    def _update(self, job_id: str, *conditions: Any, **values: Any) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(
                update(TrainingJobRow)
                .where(TrainingJobRow.id == job_id, *conditions)
                .values(**values)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release(self, job_id: str, worker: str | None = None) -> None:
        """Put a claimed job that never started back in the queue.

        Args:
            job_id: The job; left alone unless it is queued.
            worker: Only while this worker's claim holds it; whoever's if None.
        """
        conditions = [TrainingJobRow.state == JobState.QUEUED]
        if worker is not None:
            conditions.append(TrainingJobRow.worker == worker)
        self._update(job_id, *conditions, worker=None)

    def renew(self, worker: str, *, running: bool = False) -> int:
        """Keep the claims of a live worker whose jobs have not started yet from going stale.

        A training process can take longer to start than a claim may go without a
        heartbeat (spawning it and importing scikit-learn on a loaded machine): without
        this, a sweep would put the job back and it would be claimed a second time.

        Args:
            worker: The claiming server process; only its jobs are touched.
            running: Renew its running jobs too: the lease of a dispatcher whose jobs run
                elsewhere (a Dask cluster), so that they go stale when it dies, not when
                the task does (a task outlives the replica that submitted it).

        Returns:
            How many claims were renewed.
        """
        states = [JobState.QUEUED, JobState.RUNNING] if running else [JobState.QUEUED]
        with self._sessions.begin() as session:
            result = session.execute(
                update(TrainingJobRow)
                .where(TrainingJobRow.state.in_(states), TrainingJobRow.worker == worker)
                .values(heartbeat_at=utc_now())
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def start(self, job_id: str, claimed_by: str | None = None) -> bool:
        """Mark a job running.

        Args:
            job_id: The job; left alone unless it is queued (not cancelled meanwhile).
            claimed_by: The worker that claimed it: then it starts only while it is still
                that worker's, not if a sweep took back a claim gone stale
                (a training process slow to start) and another worker claimed it.

        Returns:
            Whether it started: if not, another worker runs it, or will.
        """
        now = utc_now()
        conditions = [TrainingJobRow.state == JobState.QUEUED]  # not one cancelled meanwhile
        if claimed_by is not None:
            conditions.append(TrainingJobRow.worker == claimed_by)
        return self._update(
            job_id, *conditions, state=JobState.RUNNING, started_at=now, heartbeat_at=now
        )

    def report(self, job_id: str, progress: float, *, heartbeat: bool = True) -> bool:
        """Record progress and, unless told not to, that the training process is alive.

        Args:
            job_id: The job; left alone unless it is running.
            progress: Share done, from 0 to 1.
            heartbeat: Also renew the job's heartbeat; False when the dispatcher holds
                the job's lease (a Dask task: see :meth:`renew`).

        Returns:
            Whether the job is still running: if not, it was cancelled, or a sweep failed
            it (its heartbeat or lease expired) or its dispatcher did, and the training
            should stop.
        """
        values: dict[str, Any] = {"progress": min(max(progress, 0.0), 1.0)}
        if heartbeat:
            values["heartbeat_at"] = utc_now()
        return self._update(job_id, TrainingJobRow.state == JobState.RUNNING, **values)

    def record_version(self, job_id: str, version: int) -> bool:
        """Record the version a running job registered.

        Args:
            job_id: The job that registered it; left alone unless it is running.
            version: The registered version.

        Returns:
            Whether it was recorded: not if the job was cancelled (or failed) meanwhile.
        """
        return self._update(
            job_id,
            TrainingJobRow.state == JobState.RUNNING,
            model_version=version,
            progress=1.0,
            heartbeat_at=utc_now(),
        )

    def succeed(self, job_id: str) -> bool:
        """Mark a job succeeded, if it is still running.

        Returns:
            Whether it was: not if it was cancelled (or failed) meanwhile.
        """
        return self._update(
            job_id,
            TrainingJobRow.state == JobState.RUNNING,
            state=JobState.SUCCEEDED,
            progress=1.0,
            finished_at=utc_now(),
        )

    def fail(self, job_id: str, error: str) -> None:
        """Mark a job failed, unless it already finished.

        Args:
            job_id: The job; left alone if it already finished.
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
