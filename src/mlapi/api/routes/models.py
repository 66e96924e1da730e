"""Model versions: list, show, activate (roll back or forward), delete; the one served."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from mlapi.api.deps import CallerDep, LimitQuery, OffsetQuery, ServiceDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.serving.records import MAX_INTEGER, ModelVersion, ModelVersionPage

router = APIRouter(prefix="/v1", tags=["models"], route_class=StrictQueryRoute)

VersionPath = Annotated[int, Path(ge=1, le=MAX_INTEGER, description="Model version number.")]


@router.get("/model", responses=problems(503))
async def active_model_info(service: ServiceDep) -> ModelVersion:
    """Describe the model this process is serving now.

    \f

    Args:
        service: The service layer, which does the work.

    Returns:
        Its version, algorithm, hyperparameters, data set, features, classes and metrics.
    """
    return await service.served()


@router.get("/models", responses=problems(422, 503))
async def list_models(
    service: ServiceDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> ModelVersionPage:
    """List registered model versions, newest first.

    \f

    Args:
        service: The service layer, which does the work.
        limit: Most versions returned.
        offset: Versions skipped first.

    Returns:
        A page of versions and the total count.
    """
    return await service.versions(limit, offset)


@router.get("/models/{version}", responses=problems(404, 422, 503))
async def show_model(version: VersionPath, service: ServiceDep) -> ModelVersion:
    """Describe one model version.

    \f

    Args:
        version: The version number.
        service: The service layer, which does the work.

    Returns:
        The version.
    """
    return await service.version(version)


@router.post("/models/{version}/activate", responses=problems(404, 422, 503))
async def activate_model(
    version: VersionPath, service: ServiceDep, caller: CallerDep
) -> ModelVersion:
    """Make a version the active one, for every server process (rollback or roll forward).

    This process serves it before answering; the others within a second.

    \f

    Args:
        version: The version number.
        service: The service layer, which does the work.
        caller: Who asks, recorded in the activation history.

    Returns:
        The version, now active.
    """
    return await service.activate(version, caller)


@router.delete("/models/{version}", status_code=204, responses=problems(404, 409, 422, 503))
async def delete_model(version: VersionPath, service: ServiceDep) -> Response:
    """Delete a version and its file; the active version cannot be deleted.

    \f

    Args:
        version: The version number.
        service: The service layer, which does the work.

    Returns:
        An empty 204 response.
    """
    await service.delete(version)
    return Response(status_code=204)
