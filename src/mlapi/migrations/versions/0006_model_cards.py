"""Model versions keep their model card, written when they are registered.

Versions registered before this revision have none (``NULL``): theirs is made from their
row when it is asked for.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("model_versions", sa.Column("card", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the versions' model cards (they are lost; each is made again when asked for)."""
    op.execute("ALTER TABLE model_versions DROP COLUMN card")
