"""Training jobs: ``POST /v1/train`` queues one; ``/v1/jobs`` follows them."""

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Response

from mlapi.api.deps import SettingsDep, TrainingDep
from mlapi.api.routes._convert import job_response
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import MAX_INTEGER, JobPage, JobResponse, TrainRequest
from mlapi.serving.jobs import make_request

router = APIRouter(prefix="/v1", tags=["training"], route_class=StrictQueryRoute)


@router.post("/train", status_code=202, responses=problems(400, 413, 415, 422, 503))
async def train(
    body: TrainRequest, settings: SettingsDep, training: TrainingDep, response: Response
) -> JobResponse:
    """Queue a training job; it runs in a separate process.

    Hyperparameters are checked now against the algorithm's types and bounds. Follow
    the job at the ``Location`` it answers with.

    Args:
        body: Algorithm, hyperparameters, split and whether to activate on success.
        settings: Configured defaults.
        training: The job rows and their runner.
        response: Receives the ``Location`` header.

    Returns:
        The queued job (202 Accepted).
    """
    request = make_request(
        settings,
        algorithm=body.algorithm,
        hyperparameters=body.hyperparameters,
        test_size=body.test_size,
        random_state=body.random_state,
        activate=body.activate,
        created_by="api",
    )
    job = await to_thread.run_sync(training.jobs.create, request)
    training.runner.wake()
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job_response(job)


@router.get("/jobs", responses=problems(422, 503))
async def list_jobs(
    training: TrainingDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Most jobs returned.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INTEGER, description="Jobs skipped first.")] = 0,
) -> JobPage:
    """List training jobs, newest first.

    Args:
        training: The job rows.
        limit: Most jobs returned.
        offset: Jobs skipped first.

    Returns:
        A page of jobs and the total count.
    """
    jobs, total = await to_thread.run_sync(lambda: training.jobs.page(limit, offset))
    return JobPage(
        items=[job_response(job) for job in jobs], total=total, limit=limit, offset=offset
    )


@router.get("/jobs/{job_id}", responses=problems(404, 503))
async def show_job(
    job_id: Annotated[str, Path(max_length=36, description="The job's id.")],
    training: TrainingDep,
) -> JobResponse:
    """Show a training job: state, progress, timing, resulting version or error.

    Args:
        job_id: The job's id.
        training: The job rows.

    Returns:
        The job.
    """
    return job_response(await to_thread.run_sync(training.jobs.get, job_id))
