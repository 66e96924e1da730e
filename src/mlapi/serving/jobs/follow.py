"""Waiting for a training job to finish, wherever it runs and however it is read."""

import asyncio
from collections.abc import Awaitable, Callable

from mlapi.serving.errors import TrainingCancelledError, TrainingFailedError
from mlapi.serving.records import JobState, TrainingJob


async def follow_job(
    get_job: Callable[[str], Awaitable[TrainingJob]],
    job_id: str,
    progress: Callable[[float], None] | None = None,
    poll: float = 0.05,
) -> TrainingJob:
    """Wait until a job finishes, wherever it runs, reporting its progress on the way.

    Args:
        get_job: Reads a job by id: :meth:`Service.job`, or a client's over HTTP.
        job_id: Which job.
        progress: Told the job's progress, from 0 to 1, at each look.
        poll: Seconds between looks.

    Returns:
        The succeeded job.

    Raises:
        TrainingFailedError: If the job failed; the message says why.
        TrainingCancelledError: If it was cancelled; the message says by whom.
    """
    while True:
        job = await get_job(job_id)
        if progress is not None:
            progress(job.progress)
        if job.finished:
            break
        await asyncio.sleep(poll)
    if job.state is JobState.FAILED:
        raise TrainingFailedError(f"training job {job_id} failed: {job.error}")
    if job.state is JobState.CANCELLED:
        raise TrainingCancelledError(f"training job {job_id} was {job.error}")
    return job
