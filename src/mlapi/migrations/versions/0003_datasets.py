"""Model versions record their data set's origin and column types; jobs their data set.

Versions registered before this revision were trained on Iris, from no package, on
numeric columns; jobs queued before it train on Iris, as every job did.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 16:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IRIS = """'{"url": null, "sha256": null, "name": "iris"}'"""


def upgrade() -> None:
    """Apply this migration."""
    dialect = op.get_bind().dialect
    op.add_column("model_versions", sa.Column("dataset_url", sa.String(2000), nullable=True))
    op.add_column("model_versions", sa.Column("dataset_sha256", sa.String(64), nullable=True))
    op.add_column(
        "model_versions",
        sa.Column("feature_types", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "training_jobs",
        sa.Column("dataset", sa.JSON(), nullable=False, server_default=sa.text(_IRIS)),
    )
    versions = sa.table(
        "model_versions",
        sa.column("version", sa.Integer),
        sa.column("feature_names", sa.JSON),
        sa.column("feature_types", sa.JSON),
    )
    bind = op.get_bind()
    for version, names in bind.execute(sa.select(versions.c.version, versions.c.feature_names)):
        count = len(json.loads(names) if isinstance(names, str) else names)
        bind.execute(
            versions.update()
            .where(versions.c.version == version)
            .values(feature_types=["number"] * count)
        )
    if dialect.name == "postgresql":
        # Only the rows above get these; mlapi writes both columns for every new row.
        op.alter_column("model_versions", "feature_types", server_default=None)
        op.alter_column("training_jobs", "dataset", server_default=None)


def downgrade() -> None:
    """Drop the columns this revision added (the origin of later data sets is lost)."""
    op.execute("ALTER TABLE training_jobs DROP COLUMN dataset")
    op.execute("ALTER TABLE model_versions DROP COLUMN feature_types")
    op.execute("ALTER TABLE model_versions DROP COLUMN dataset_sha256")
    op.execute("ALTER TABLE model_versions DROP COLUMN dataset_url")
