"""Model versions record the types their file may hold; files are found by checksum alone.

Versions registered before this revision held decision trees or gradient boosting, whose
files need ``sklearn.tree._tree.Tree`` beyond skops' defaults: that is what they get.
The file path column goes: the model store names every file after its SHA-256.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 12:00:00
"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The allow-list every model file was loaded with before this revision.
_EARLIER_TRUSTED_TYPES = """'["sklearn.tree._tree.Tree"]'"""


def upgrade() -> None:
    """Apply this migration.

    Raises:
        RuntimeError: On SQLite older than 3.35, which cannot drop a column in place.
    """
    dialect = op.get_bind().dialect
    if dialect.name == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError(f"the registry needs SQLite 3.35 or newer, not {sqlite3.sqlite_version}")
    op.add_column(
        "model_versions",
        sa.Column(
            "trusted_types",
            sa.JSON(),
            nullable=False,
            server_default=sa.text(_EARLIER_TRUSTED_TYPES),
        ),
    )
    if dialect.name == "postgresql":
        # Only the rows above get the earlier allow-list; every new one names its own.
        # (SQLite cannot drop a default in place; mlapi always writes the column.)
        op.alter_column("model_versions", "trusted_types", server_default=None)
    # Plain ALTER TABLE: rebuilding the table, as a batch migration would, is refused
    # while other tables hold foreign keys into it.
    op.execute("ALTER TABLE model_versions DROP COLUMN file_path")


def downgrade() -> None:
    """Refuse: the file paths this revision dropped named folders it cannot know.

    Raises:
        NotImplementedError: Always; restore a backup taken before upgrading instead.
    """
    raise NotImplementedError("revision 0002 cannot be reverted: restore a backup instead")
