"""Alembic environment: migrates the connection that `migrate()` passes in."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from mlapi.serving.tables import Base

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:  # pragma: no cover - `alembic` command line with sqlalchemy.url in its config
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, poolclass=pool.NullPool
    )
    with engine.connect() as standalone:
        context.configure(connection=standalone, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
