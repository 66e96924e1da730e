"""Helpers for job tests: what to train, jobs whose process stopped reporting, slow starts."""

import asyncio
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from anyio import to_thread
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from mlapi.serving.jobs.process import start_training_process
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.records import DatasetSource, JobState, TrainingSpec
from mlapi.serving.tables import TrainingJobRow, utc_now


def training_spec(**changes: Any) -> TrainingSpec:
    """A small decision tree to train, with ``changes`` applied."""
    values: dict[str, Any] = {
        "algorithm": "decision_tree",
        "hyperparameters": {"max_depth": 3},
        "test_size": 0.2,
        "random_state": 0,
        "activate": True,
        "created_by": "test",
        "dataset": DatasetSource(name="iris"),
    }
    return TrainingSpec(**{**values, **changes})


def boosting_spec(n_estimators: int, **changes: Any) -> TrainingSpec:
    """Gradient boosting with ``n_estimators`` stages (more stages, a longer job)."""
    return training_spec(
        algorithm="gradient_boosting", hyperparameters={"n_estimators": n_estimators}, **changes
    )


def age_heartbeat(engine: Engine, job_id: str, seconds: float) -> None:
    """Move a job's heartbeat into the past, as if its process had stopped."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(TrainingJobRow)
            .where(TrainingJobRow.id == job_id)
            .values(heartbeat_at=utc_now() - timedelta(seconds=seconds))
        )


#: Safety net for a job to be seen fitting (a training process starting included).
FITTING_SECONDS = 120


async def until_fitting(jobs: JobStore, job_id: str) -> None:
    """Wait until a job runs and its fit has reported progress."""
    deadline = time.monotonic() + FITTING_SECONDS
    while True:
        job = await to_thread.run_sync(jobs.get, job_id)
        if job.state is JobState.RUNNING and job.progress > 0:
            return
        assert not job.finished, f"job finished before it was seen fitting: {job}"
        assert time.monotonic() < deadline, f"job never seen fitting: {job}"
        await asyncio.sleep(0.02)


def start_slowly(*args: object) -> None:
    """Start a training process as the pool does, seconds late: a loaded machine's spawn.

    Once started, it touches the file ``MLAPI_TEST_STARTED_MARK`` names, if set.
    """
    time.sleep(SLOW_START_SECONDS)
    start_training_process(*args)  # type: ignore[arg-type]
    if mark := os.environ.get("MLAPI_TEST_STARTED_MARK"):
        Path(mark).touch()


#: How late :func:`start_slowly` starts a training process: past a 1.5 s stale claim.
SLOW_START_SECONDS = 4.0
