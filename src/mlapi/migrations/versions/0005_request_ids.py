"""Training jobs keep the id of the request that queued them, for their log lines.

Jobs queued before this revision have none (``NULL``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("training_jobs", sa.Column("request_id", sa.String(128), nullable=True))


def downgrade() -> None:
    """Drop the jobs' request ids (they are lost)."""
    op.execute("ALTER TABLE training_jobs DROP COLUMN request_id")
