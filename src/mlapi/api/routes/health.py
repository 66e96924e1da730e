"""Probes for orchestrators: ``/v1/health/live`` and ``/v1/health/ready``."""

from fastapi import APIRouter

from mlapi.api.deps import ServiceDep
from mlapi.api.routes._responses import problems
from mlapi.api.routing import StrictQueryRoute
from mlapi.serving.records import Health

router = APIRouter(prefix="/v1/health", tags=["health"], route_class=StrictQueryRoute)


@router.get("/live")
async def live(service: ServiceDep) -> Health:
    """Answer while the process can serve HTTP at all.

    \f

    Args:
        service: The service layer, which does the work.

    Returns:
        ``{"status": "ok"}``.
    """
    return service.live()


@router.get("/ready", responses=problems(503))
async def ready(service: ServiceDep) -> Health:
    """Answer 200 once a model is loaded, 503 before.

    \f

    Args:
        service: The service layer, which does the work.

    Returns:
        ``{"status": "ready", "model_version": ...}``.
    """
    return service.ready()
