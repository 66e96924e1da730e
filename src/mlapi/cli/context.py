"""What every command shares: the root options, the service they connect to, errors.

The root command (``mlapi [--config F] [--url U] [--cacert C] [--format F] COMMAND``)
keeps its options in an :class:`Options` on the Typer context; :func:`call` connects to
the service they name, runs one operation on it and turns any domain error into one
``error: ...`` line and exit status 1.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from mlapi.cli.client import Backend, HttpClient
from mlapi.ml import MlapiError
from mlapi.serving.records import MAX_INTEGER
from mlapi.serving.service import Service, Training
from mlapi.settings import Settings

Result = TypeVar("Result")

LimitOption = Annotated[int, typer.Option(min=1, max=500, help="Most items listed.")]
OffsetOption = Annotated[int, typer.Option(min=0, max=MAX_INTEGER, help="Items skipped first.")]
VersionArgument = Annotated[int, typer.Argument(min=1, max=MAX_INTEGER, help="Version number.")]


class Format(StrEnum):
    """How commands print what they did."""

    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True)
class Options:
    """The root command's options, shared by every command.

    Attributes:
        url: A running server to act on; the local registry in this process if None.
        cacert: CA bundle to verify that server with.
        format: Tables and sentences, or the JSON of the records.
    """

    url: str | None = None
    cacert: Path | None = None
    format: Format = Format.TEXT


def options(ctx: typer.Context) -> Options:
    """Return the root command's options.

    Args:
        ctx: The context of the running command.

    Returns:
        The options the root command stored (defaults if it stored none).
    """
    found = ctx.find_object(Options)
    return found if found is not None else Options()


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, or stop with exit status 2 saying what is wrong with them.

    Args:
        **overrides: Values given on the command line.

    Returns:
        The settings.
    """
    try:
        return Settings(**overrides)
    except (ValueError, FileNotFoundError) as error:  # pydantic's ValidationError included
        typer.echo(f"error: invalid configuration: {error}", err=True)
        raise typer.Exit(2) from None


@asynccontextmanager
async def connect(
    chosen: Options, *, run_jobs: bool = False, overrides: dict[str, Any] | None = None
) -> AsyncIterator[Backend]:
    """Open the service the options name: on a server, or here on the local registry.

    Args:
        chosen: The root command's options.
        run_jobs: Here, run the training jobs queued through it in this process (for
            ``train --wait``); otherwise they are left queued for a server.
        overrides: Settings this command changes, here only.

    Yields:
        The service.
    """
    if chosen.url is not None:
        # The key only ever comes from the environment or the configuration file.
        secret = load_settings().api_key
        api_key = secret.get_secret_value() if secret else None
        async with HttpClient(chosen.url, chosen.cacert, api_key) as client:
            yield client
        return
    training = Training.HERE if run_jobs else Training.ELSEWHERE
    settings = load_settings(**(overrides or {}))
    async with Service(settings, training=training, load_on_demand=True) as service:
        yield service


def call(
    ctx: typer.Context,
    operation: Callable[[Backend], Awaitable[Result]],
    *,
    run_jobs: bool = False,
    overrides: dict[str, Any] | None = None,
) -> Result:
    """Run one operation on the service the root options name.

    Args:
        ctx: The context of the running command.
        operation: Given the service, does the work.
        run_jobs: See :func:`connect`.
        overrides: See :func:`connect`.

    Returns:
        What the operation returned.
    """

    async def session() -> Result:
        async with connect(options(ctx), run_jobs=run_jobs, overrides=overrides) as backend:
            return await operation(backend)

    try:
        return asyncio.run(session())
    except MlapiError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
