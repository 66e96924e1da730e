"""Registry tables: model versions, the active version, activations and training jobs.

SQLAlchemy 2 declarative models; the schema itself is created and changed only by the
Alembic migrations in :mod:`mlapi.migrations`.
"""

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Enum, Float, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored without zone and always read back as UTC (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store timestamps as naive UTC.

        Args:
            value: An aware timestamp, or None.
            dialect: The database dialect.

        Returns:
            The naive UTC timestamp.
        """
        return value.astimezone(UTC).replace(tzinfo=None) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read timestamps back as aware UTC.

        Args:
            value: The stored naive UTC timestamp, or None.
            dialect: The database dialect.

        Returns:
            The aware UTC timestamp.
        """
        return value.replace(tzinfo=UTC) if value is not None else None


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class JobState(enum.StrEnum):
    """Life cycle of a training job."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Base(DeclarativeBase):
    """Base class of the registry tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UtcDateTime,
    }


class ModelVersionRow(Base):
    """One immutable trained model: its file, where it came from and how good it is."""

    __tablename__ = "model_versions"
    # Never reuse the number of a deleted version (SQLite would, without AUTOINCREMENT).
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's own API

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    algorithm: Mapped[str] = mapped_column(String(100))
    hyperparameters: Mapped[dict[str, Any]]
    dataset_name: Mapped[str] = mapped_column(String(200))
    dataset_checksum: Mapped[str] = mapped_column(String(64))
    feature_names: Mapped[list[Any]]
    class_names: Mapped[list[Any]]
    metrics: Mapped[dict[str, Any]]
    training_seconds: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    file_path: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)


class ActiveVersionRow(Base):
    """The single row naming the version every server process should serve."""

    __tablename__ = "active_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(ForeignKey("model_versions.version"))
    generation: Mapped[int] = mapped_column(Integer)
    activated_at: Mapped[datetime]


class ActivationRow(Base):
    """History of activations: which version became active, when and by whom."""

    __tablename__ = "activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer)
    activated_at: Mapped[datetime]
    activated_by: Mapped[str] = mapped_column(String(200))


class TrainingJobRow(Base):
    """A request to train a model, and what became of it."""

    __tablename__ = "training_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    state: Mapped[JobState] = mapped_column(
        Enum(
            JobState, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
        ),
        index=True,
    )
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    algorithm: Mapped[str] = mapped_column(String(100))
    hyperparameters: Mapped[dict[str, Any]]
    test_size: Mapped[float] = mapped_column(Float)
    random_state: Mapped[int] = mapped_column(Integer)
    activate: Mapped[bool]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(100))
    model_version: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
