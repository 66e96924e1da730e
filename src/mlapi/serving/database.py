"""Database engines for the registry, and migrating their schema to the newest version."""

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

#: Key of the PostgreSQL advisory lock that serialises concurrent migrations.
_MIGRATION_LOCK = 0x6D6C6170  # "mlap"

#: Seconds a SQLite connection waits for another's lock before giving up.
_SQLITE_BUSY_SECONDS = 30.0

#: Alembic keeps the migration it runs in module globals: one at a time per process.
_MIGRATING = threading.Lock()


def _enable_wal(dbapi_connection: Any) -> None:
    """Switch a SQLite database to WAL mode, waiting for other connections' locks.

    Args:
        dbapi_connection: A new sqlite3 connection.

    Raises:
        sqlite3.OperationalError: If the database stays locked for too long.
    """
    # Switching a new database to WAL needs an exclusive lock, and SQLite answers "locked"
    # at once instead of calling the busy handler: several processes starting on a new
    # registry would fail. Retry as the busy timeout would.
    deadline = time.monotonic() + _SQLITE_BUSY_SECONDS
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL mode, foreign keys and explicit transactions.

    Args:
        url: A SQLAlchemy database URL, e.g. ``sqlite:///var/models/registry.sqlite3`` or
            ``postgresql+psycopg://user:password@host/database``.

    Returns:
        The engine.
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    engine = create_engine(
        url, connect_args={"timeout": _SQLITE_BUSY_SECONDS, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is off; SQLAlchemy's "begin" below decides.
        dbapi_connection.isolation_level = None
        _enable_wal(dbapi_connection)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so a read-then-write transaction
        # cannot fail half-way with "database is locked".
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Make sessions bound to ``engine`` that keep loaded objects usable after commit.

    Args:
        engine: The registry's engine.

    Returns:
        The session factory.
    """
    return sessionmaker(engine, expire_on_commit=False)


def read_page(
    sessions: sessionmaker[Session], table: Any, order: Sequence[Any], limit: int, offset: int
) -> tuple[list[Any], int]:
    """Read one page of a table's rows and the table's row count.

    Args:
        sessions: The session factory.
        table: The mapped table class.
        order: ORDER BY clauses.
        limit: Most rows returned.
        offset: Rows skipped first.

    Returns:
        The rows and the total number of rows.
    """
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(table)) or 0
        rows = session.scalars(select(table).order_by(*order).limit(limit).offset(offset)).all()
    return list(rows), total


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest migration, safely from several processes at once.

    Threads of one process migrate one at a time, whichever databases they migrate.

    Args:
        engine: The registry's engine.
        revision: The Alembic revision to upgrade to; the newest by default.
    """
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", "mlapi:migrations")
    with (
        _MIGRATING,
        engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection,
        connection.begin(),
    ):
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
