"""What the routes share: the service, who is calling, and the parameters of listings.

``get_service`` is ``async def``: FastAPI runs plain ``def`` dependencies in a thread
pool, a hop that would cost more than a prediction itself.
"""

from typing import Annotated

from fastapi import Depends, Query, Request

from mlapi.api.guard import KEY_NAME
from mlapi.serving.records import MAX_INTEGER
from mlapi.serving.service import Service

#: ``?limit=``: most items a listing returns.
LimitQuery = Annotated[int, Query(ge=1, le=500, description="Most items returned.")]

#: ``?offset=``: items a listing skips first.
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_INTEGER, description="Items skipped first.")]


async def get_service(request: Request) -> Service:
    """Return the service the app was built around.

    Args:
        request: The current request.

    Returns:
        The service.
    """
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


async def get_caller(request: Request) -> str:
    """Say who makes a request, as jobs and activations record it.

    Returns:
        ``api key <name>`` for a request made with a configured key, else ``api``.
    """
    name = request.scope.get(KEY_NAME)
    return f"api key {name}" if name else "api"


CallerDep = Annotated[str, Depends(get_caller)]
