"""Dependencies shared by the routes: settings, the active model, query checking.

All are ``async def``: FastAPI runs plain ``def`` dependencies in a thread pool, a hop
that would cost more than the prediction itself.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from mlapi.serving.active_model import ActiveModel
from mlapi.settings import Settings

_known_parameters: dict[int, frozenset[str]] = {}


async def get_settings(request: Request) -> Settings:
    """Return the settings the app was built with.

    Args:
        request: The current request.

    Returns:
        The settings.
    """
    settings: Settings = request.app.state.settings
    return settings


async def get_active_model(request: Request) -> ActiveModel:
    """Return the holder of the model being served.

    Args:
        request: The current request.

    Returns:
        The active model.
    """
    active_model: ActiveModel = request.app.state.active_model
    return active_model


async def reject_unknown_query_parameters(request: Request) -> None:
    """Refuse query parameters the route does not declare, so typos do not pass silently.

    Args:
        request: The current request.

    Raises:
        RequestValidationError: Naming each unknown parameter.
    """
    if not request.query_params:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _known_parameters.get(id(route))
    if known is None:
        known = _query_parameter_names(route.dependant)
        _known_parameters[id(route)] = known
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": f"Unknown query parameter; this route accepts {sorted(known) or 'none'}",
                    "input": request.query_params[name],
                }
                for name in unknown
            ]
        )


def _query_parameter_names(dependant: Dependant) -> frozenset[str]:
    names = {param.alias for param in dependant.query_params}
    for sub_dependant in dependant.dependencies:
        names |= _query_parameter_names(sub_dependant)
    return frozenset(names)


SettingsDep = Annotated[Settings, Depends(get_settings)]
ActiveModelDep = Annotated[ActiveModel, Depends(get_active_model)]
