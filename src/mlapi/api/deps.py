"""Dependencies shared by the routes: the settings and the active model.

All are ``async def``: FastAPI runs plain ``def`` dependencies in a thread pool, a hop
that would cost more than the prediction itself.
"""

from typing import Annotated

from fastapi import Depends, Request

from mlapi.serving.active_model import ActiveModel
from mlapi.settings import Settings


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


SettingsDep = Annotated[Settings, Depends(get_settings)]
ActiveModelDep = Annotated[ActiveModel, Depends(get_active_model)]
