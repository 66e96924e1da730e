"""Model versions record the library versions that made them; an audit log of changes.

Versions registered before this revision have no record of their libraries (``NULL``):
loading them counts as unknown provenance (a warning, or refused with
``MLAPI_LIBRARY_MISMATCH=refuse``). ``audit_events`` records every
model-changing request and every refused key: when, by which key (its name, never the
key), from where, and what came of it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("model_versions", sa.Column("libraries", sa.JSON(), nullable=True))
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("key_name", sa.String(200), nullable=True),
        sa.Column("source", sa.String(100), nullable=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    """Drop the audit log and the library versions (both are lost)."""
    op.drop_table("audit_events")
    op.execute("ALTER TABLE model_versions DROP COLUMN libraries")
