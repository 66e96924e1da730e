"""``GET /v1/algorithms``: what a training job can train, for forms and clients."""

from fastapi import APIRouter

from mlapi.api.deps import ServiceDep
from mlapi.api.routing import StrictQueryRoute
from mlapi.serving.records import AlgorithmEntry

router = APIRouter(prefix="/v1", tags=["training"], route_class=StrictQueryRoute)


@router.get("/algorithms")
async def list_algorithms(service: ServiceDep) -> list[AlgorithmEntry]:
    """List the algorithms of the catalogue, the default one marked.

    Each comes with the JSON Schema of its hyperparameters (types, bounds, the catalogue's
    defaults) and the values a training request that gives none trains with, this server's
    configured defaults included. The dashboard builds its training form from it.

    \f

    Args:
        service: The service layer, which does the work.

    Returns:
        The algorithms, in the catalogue's order.
    """
    return service.algorithms()
