"""What the routes share: the service every route calls, and the parameters of listings.

``get_service`` is ``async def``: FastAPI runs plain ``def`` dependencies in a thread
pool, a hop that would cost more than a prediction itself.
"""

from typing import Annotated

from fastapi import Depends, Query, Request

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
