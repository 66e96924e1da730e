"""A route class that refuses query parameters its endpoint does not declare."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def _query_parameter_names(dependant: Dependant) -> frozenset[str]:
    names = {param.alias for param in dependant.query_params}
    for sub_dependant in dependant.dependencies:
        names |= _query_parameter_names(sub_dependant)
    return frozenset(names)


class StrictQueryRoute(APIRoute):
    """An API route that answers 422 naming each unknown query parameter.

    A misspelt parameter (``?gradient_boost=true``) would otherwise be ignored without a
    word, and the client would get a default it did not ask for. The check costs nothing
    for requests without a query string.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler with the query parameter check.

        Returns:
            The request handler.
        """
        handler = super().get_route_handler()
        known = _query_parameter_names(self.dependant)

        async def strict_handler(request: Request) -> Response:
            if request.scope["query_string"]:
                unknown = [name for name in request.query_params if name not in known]
                if unknown:
                    accepted = sorted(known) or "none"
                    raise RequestValidationError(
                        [
                            {
                                "type": "extra_forbidden",
                                "loc": ("query", name),
                                "msg": f"Unknown query parameter; this route accepts {accepted}",
                                "input": request.query_params[name],
                            }
                            for name in unknown
                        ]
                    )
            return await handler(request)

        return strict_handler
