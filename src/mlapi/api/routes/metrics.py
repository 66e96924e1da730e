"""``GET /metrics``: the server's Prometheus metrics, every worker process's together."""

from fastapi import APIRouter, Response

from mlapi.api.deps import ServiceDep
from mlapi.api.routing import StrictQueryRoute
from mlapi.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"], route_class=StrictQueryRoute)

_TEXT = {
    "description": "The metrics, in Prometheus's text exposition format.",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


@router.get("/metrics", response_class=Response, responses={200: _TEXT})
async def metrics(service: ServiceDep) -> Response:
    """Scrape the server's metrics (Prometheus text format).

    Requests by route, method and status with their latency, prediction batch sizes,
    predictions by class, the model version each worker process serves and whether it
    is a fall-back, model load times, and training jobs by state and duration. Open
    while no `predict` key is configured; then it needs one, as the read routes do.

    \f

    Args:
        service: The service layer, which does the work.

    Returns:
        The metrics page.
    """
    return Response(await service.metrics.page(), media_type=CONTENT_TYPE)
