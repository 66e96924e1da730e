"""Training jobs: ``POST /v1/train`` queues one; ``/v1/jobs`` follows and cancels them."""

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from mlapi.api.deps import CallerDep, LimitQuery, OffsetQuery, ServiceDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import TrainRequest
from mlapi.serving.records import JobPage, TrainingJob

#: A job's id in a path.
JobIdPath = Annotated[str, Path(max_length=36, description="The job's id.")]

router = APIRouter(prefix="/v1", tags=["training"], route_class=StrictQueryRoute)

#: Request bodies shown in the OpenAPI document.
TRAIN_EXAMPLES = [
    {
        "algorithm": "gradient_boosting",
        "hyperparameters": {"n_estimators": 50, "learning_rate": 0.2},
        "test_size": 0.2,
        "random_state": 0,
        "activate": True,
    },
    {},
]


@router.post("/train", status_code=202, responses=problems(400, 413, 415, 422, 429, 503, 507))
async def train(
    body: Annotated[
        TrainRequest,
        # No OpenAPI `discriminator`: by its rules every body would have to name an
        # algorithm of its mapping, and the default request names none. Each branch's
        # `algorithm` (a constant, or null) tells them apart as it is.
        Body(title="TrainRequest", examples=TRAIN_EXAMPLES),
    ],
    service: ServiceDep,
    caller: CallerDep,
    response: Response,
) -> TrainingJob:
    """Queue a training job; it runs in a separate process.

    Hyperparameters are checked now against the algorithm's types and bounds. Follow
    the job at the ``Location`` it answers with.

    \f

    Args:
        body: Algorithm, hyperparameters, split and whether to activate on success; an
            empty body trains the configured default algorithm.
        service: The service layer, which does the work.
        caller: Who asks, recorded with the job.
        response: Receives the ``Location`` header.

    Returns:
        The queued job (202 Accepted).
    """
    job = await service.train(body.order(), created_by=caller)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job


@router.get("/jobs", responses=problems(422, 503))
async def list_jobs(
    service: ServiceDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> JobPage:
    """List training jobs, newest first.

    \f

    Args:
        service: The service layer, which does the work.
        limit: Most jobs returned.
        offset: Jobs skipped first.

    Returns:
        A page of jobs and the total count.
    """
    return await service.jobs(limit, offset)


@router.get("/jobs/{job_id}", responses=problems(404, 422, 503))
async def show_job(
    job_id: JobIdPath,
    service: ServiceDep,
) -> TrainingJob:
    """Show a training job: state, progress, timing, resulting version or error.

    \f

    Args:
        job_id: The job's id.
        service: The service layer, which does the work.

    Returns:
        The job.
    """
    return await service.job(job_id)


@router.post("/jobs/{job_id}/cancel", responses=problems(401, 403, 404, 409, 422, 503))
async def cancel_job(job_id: JobIdPath, service: ServiceDep, caller: CallerDep) -> TrainingJob:
    """Cancel a queued or running training job.

    A running job stops within about a second for algorithms that report progress while
    they fit, otherwise before it registers a version. A job cancelled in the instant
    after it registered its version leaves that version registered, and not activated
    unless the server was already activating it. A finished job is refused with 409
    (``job-finished``).

    \f

    Args:
        job_id: The job's id.
        service: The service layer, which does the work.
        caller: Who cancels it, recorded in the job's ``error``.

    Returns:
        The job, now cancelled.
    """
    return await service.cancel(job_id, cancelled_by=caller)
