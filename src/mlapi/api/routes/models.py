"""Model versions: list, show, activate (roll back or forward), delete; the active one."""

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Response

from mlapi.api.deps import ActiveModelDep, RegistryDep
from mlapi.api.routes._convert import version_response
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import MAX_INTEGER, ModelVersionPage, ModelVersionResponse

router = APIRouter(prefix="/v1", tags=["models"], route_class=StrictQueryRoute)

VersionPath = Annotated[int, Path(ge=1, le=MAX_INTEGER, description="Model version number.")]


async def _active_number(registry: RegistryDep) -> int | None:
    state = await to_thread.run_sync(registry.active)
    return state.version if state else None


@router.get("/model", responses=problems(503))
async def active_model_info(
    active_model: ActiveModelDep, registry: RegistryDep
) -> ModelVersionResponse:
    """Describe the model this process is serving now.

    Args:
        active_model: The model being served.
        registry: The model registry.

    Returns:
        Its version, algorithm, hyperparameters, data set, features, classes and metrics.
    """
    served = active_model.served
    return version_response(served.version, await _active_number(registry))


@router.get("/models", responses=problems(422, 503))
async def list_models(
    registry: RegistryDep,
    limit: Annotated[int, Query(ge=1, le=500, description="Most versions returned.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INTEGER, description="Versions skipped first.")] = 0,
) -> ModelVersionPage:
    """List registered model versions, newest first.

    Args:
        registry: The model registry.
        limit: Most versions returned.
        offset: Versions skipped first.

    Returns:
        A page of versions and the total count.
    """
    versions, total = await to_thread.run_sync(lambda: registry.page(limit, offset))
    active = await _active_number(registry)
    return ModelVersionPage(
        items=[version_response(version, active) for version in versions],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/models/{version}", responses=problems(404, 422, 503))
async def show_model(version: VersionPath, registry: RegistryDep) -> ModelVersionResponse:
    """Describe one model version.

    Args:
        version: The version number.
        registry: The model registry.

    Returns:
        The version.
    """
    record = await to_thread.run_sync(registry.get, version)
    return version_response(record, await _active_number(registry))


@router.post("/models/{version}/activate", responses=problems(404, 422, 503))
async def activate_model(
    version: VersionPath, active_model: ActiveModelDep, registry: RegistryDep
) -> ModelVersionResponse:
    """Make a version the active one, for every server process (rollback or roll forward).

    This process serves it before answering; the others within a second.

    Args:
        version: The version number.
        active_model: The model being served.
        registry: The model registry.

    Returns:
        The version, now active.
    """
    state = await active_model.activate(version, "api")
    return version_response(active_model.served.version, state.version)


@router.delete("/models/{version}", status_code=204, responses=problems(404, 409, 422, 503))
async def delete_model(version: VersionPath, registry: RegistryDep) -> Response:
    """Delete a version and its file; the active version cannot be deleted.

    Args:
        version: The version number.
        registry: The model registry.

    Returns:
        An empty 204 response.
    """
    await to_thread.run_sync(registry.delete, version)
    return Response(status_code=204)
