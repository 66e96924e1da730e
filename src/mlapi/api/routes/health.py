"""Probes for orchestrators: ``/v1/health/live`` and ``/v1/health/ready``."""

from fastapi import APIRouter

from mlapi.api.deps import ActiveModelDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.api.schemas import HealthResponse

router = APIRouter(prefix="/v1/health", tags=["health"], route_class=StrictQueryRoute)


@router.get("/live")
async def live() -> HealthResponse:
    """Answer while the process can serve HTTP at all.

    Returns:
        ``{"status": "ok"}``.
    """
    return HealthResponse(status="ok")


@router.get("/ready", responses=problems(503))
async def ready(active_model: ActiveModelDep) -> HealthResponse:
    """Answer 200 once a model is loaded, 503 before.

    Args:
        active_model: The model being served.

    Returns:
        ``{"status": "ready", "model_version": ...}``.
    """
    return HealthResponse(status="ready", model_version=active_model.served.version.version)
