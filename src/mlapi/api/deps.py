"""Dependencies shared by the routes: the service every route calls.

``async def``: FastAPI runs plain ``def`` dependencies in a thread pool, a hop that
would cost more than a prediction itself.
"""

from typing import Annotated

from fastapi import Depends, Request

from mlapi.serving.service import Service


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
