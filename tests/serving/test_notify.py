"""Activations notified through PostgreSQL's LISTEN/NOTIFY, on a real PostgreSQL server."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from anyio import to_thread
from sqlalchemy import Engine, make_url, text

from mlapi.serving.database import make_engine, migrate
from mlapi.serving.errors import ModelVersionNotFoundError
from mlapi.serving.notify import listen, notifies
from mlapi.serving.registry import Registry
from mlapi.serving.store import ModelStore
from tests.conftest import fresh_database

#: Seconds to wait for a notification before failing (a safety net, not a measure).
PATIENCE = 30


@pytest.fixture
def postgres_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty registry database on the PostgreSQL server."""
    with fresh_database("postgresql", tmp_path) as url:
        engine = make_engine(url)
        migrate(engine)
        yield engine
        engine.dispose()


class Nudges:
    """Counts the nudges a listener gives, and lets a test wait for the next ones."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self._changed.set()

    async def reach(self, count: int) -> None:
        """Wait until there have been ``count`` nudges in all."""
        async with asyncio.timeout(PATIENCE):
            while self.count < count:
                self._changed.clear()
                await self._changed.wait()


@contextlib.asynccontextmanager
async def listening(engine: Engine) -> AsyncIterator[Nudges]:
    """Listen for the registry's activations while the block runs, once connected."""
    nudges = Nudges()
    task = asyncio.create_task(listen(engine.url, nudges))
    try:
        await nudges.reach(1)  # connected and listening: it nudges once to catch up
        yield nudges
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_only_postgresql_notifies() -> None:
    assert notifies(make_url("postgresql+psycopg://u@h/db"))
    assert not notifies(make_url("sqlite:///registry.sqlite3"))


def test_each_committed_activation_nudges_a_listener_once(
    postgres_engine: Engine, tmp_path: Path
) -> None:
    registry = Registry(postgres_engine, ModelStore(str(tmp_path / "models")))
    registry.bootstrap()  # activates version 1 before anyone listens
    asyncio.run(_activate_while_listening(postgres_engine, registry))


async def _activate_while_listening(engine: Engine, registry: Registry) -> None:
    async with listening(engine) as nudges:
        await to_thread.run_sync(registry.activate, 1, "test")
        await nudges.reach(2)
        with pytest.raises(ModelVersionNotFoundError):
            await to_thread.run_sync(registry.activate, 99, "test")  # rolled back
        await to_thread.run_sync(registry.activate, 1, "test")
        await nudges.reach(3)
        # Notifications arrive in commit order: one from the failed activation would
        # have come before the third.
        assert nudges.count == 3


def test_a_listener_whose_connection_is_cut_connects_again_and_catches_up(
    postgres_engine: Engine, tmp_path: Path
) -> None:
    registry = Registry(postgres_engine, ModelStore(str(tmp_path / "models")))
    registry.bootstrap()
    asyncio.run(_cut_while_listening(postgres_engine, registry))


async def _cut_while_listening(engine: Engine, registry: Registry) -> None:
    async with listening(engine) as nudges:
        with engine.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'mlapi-listen' AND datname = current_database()"
                )
            ).scalar_one()
        assert ended == 1
        await nudges.reach(2)  # connected again, looked again
        await to_thread.run_sync(registry.activate, 1, "test")
        await nudges.reach(3)  # and listens again
