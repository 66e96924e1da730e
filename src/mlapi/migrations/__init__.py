"""Alembic migrations of the registry schema; applied by ``mlapi.serving.database.migrate``."""
