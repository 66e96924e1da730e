"""Dependencies shared by the routes: settings, the active model, registry and jobs.

All are ``async def``: FastAPI runs plain ``def`` dependencies in a thread pool, a hop
that would cost more than the prediction itself.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from mlapi.serving.active_model import ActiveModel, ModelNotReadyError
from mlapi.serving.jobs import JobStore, TrainingRunner
from mlapi.serving.registry import Registry
from mlapi.settings import Settings


@dataclass(frozen=True)
class Training:
    """The job rows and the runner that executes them, as the routes need them.

    Attributes:
        jobs: The training job rows.
        runner: Claims and runs queued jobs.
    """

    jobs: JobStore
    runner: TrainingRunner


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


async def get_registry(request: Request) -> Registry:
    """Return the model registry, once the registry database is ready.

    Args:
        request: The current request.

    Returns:
        The registry.

    Raises:
        ModelNotReadyError: Until start-up has migrated the database and loaded a model.
    """
    await get_ready_active_model(request)
    registry: Registry = request.app.state.registry
    return registry


async def get_ready_active_model(request: Request) -> ActiveModel:
    """Return the active model once it is loaded.

    Args:
        request: The current request.

    Returns:
        The active model.

    Raises:
        ModelNotReadyError: Until start-up has loaded a model.
    """
    active_model = await get_active_model(request)
    if not active_model.ready:
        raise ModelNotReadyError("the service is still starting")
    return active_model


async def get_training(request: Request) -> Training:
    """Return the training jobs and their runner, once the registry is ready.

    Args:
        request: The current request.

    Returns:
        The jobs and runner.

    Raises:
        ModelNotReadyError: Until start-up has migrated the database and loaded a model.
    """
    await get_ready_active_model(request)
    training: Training = request.app.state.training
    return training


SettingsDep = Annotated[Settings, Depends(get_settings)]
ActiveModelDep = Annotated[ActiveModel, Depends(get_active_model)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
TrainingDep = Annotated[Training, Depends(get_training)]
