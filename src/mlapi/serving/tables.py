"""Registry tables: model versions, the active version, activations, training jobs, audit.

SQLAlchemy 2 declarative models; the schema itself is created and changed only by the
Alembic migrations in :mod:`mlapi.migrations`. A row's attributes carry the names of
the fields of its record in :mod:`mlapi.serving.records`, so :func:`to_record` copies one
into the other without a list of fields.
"""

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import JSON, DateTime, Enum, Float, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mlapi.ml.evaluation import Evaluation
from mlapi.serving.records import AuditOutcome, DatasetSource, JobState

Record = TypeVar("Record")


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


class RecordJson(TypeDecorator[Any]):
    """A record (a dataclass such as :class:`~mlapi.ml.evaluation.Evaluation`) stored as JSON.

    Args:
        read: Rebuilds the record from the stored dictionary.
    """

    impl = JSON
    cache_ok = True

    def __init__(self, read: Callable[[Any], Any]) -> None:
        super().__init__()
        self.read = read

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Store a record as plain data.

        Args:
            value: The record, or None.
            dialect: The database dialect.

        Returns:
            Its fields as a dictionary.
        """
        return dataclasses.asdict(value) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """Read a record back.

        Args:
            value: The stored dictionary, or None.
            dialect: The database dialect.

        Returns:
            The record.
        """
        return self.read(value) if value is not None else None


def _dataset_source(values: dict[str, Any]) -> DatasetSource:
    return DatasetSource(**values)


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def to_record(kind: type[Record], row: Any, **values: Any) -> Record:
    """Copy a table row into the record of the same field names.

    Args:
        kind: The record's dataclass.
        row: A row whose attributes include every field of ``kind`` not in ``values``.
        **values: Fields the row does not hold (``active`` of a model version, say).

    Returns:
        The record.
    """
    fields = (field.name for field in dataclasses.fields(kind))  # type: ignore[arg-type]
    return kind(**{name: getattr(row, name) for name in fields if name not in values}, **values)


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
    dataset_url: Mapped[str | None] = mapped_column(String(2000))
    dataset_sha256: Mapped[str | None] = mapped_column(String(64))
    feature_names: Mapped[list[Any]]
    feature_types: Mapped[list[Any]]
    class_names: Mapped[list[Any]]
    metrics: Mapped[Evaluation] = mapped_column(RecordJson(Evaluation.from_dict))
    training_seconds: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # The model store names each file after this SHA-256: no path is kept.
    checksum: Mapped[str] = mapped_column("file_sha256", String(64), unique=True)
    # What loading the file may trust beyond skops' defaults: recorded when it was
    # trained, so that nothing is trusted because the file itself says so.
    trusted_types: Mapped[list[Any]]
    # Versions of the libraries that wrote the file (Python, scikit-learn, numpy, skops);
    # None for versions registered before they were recorded.
    libraries: Mapped[dict[str, Any] | None]
    # Its model card in Markdown, written with the row; None for versions registered
    # before mlapi wrote cards. Read only when asked for: no listing needs it.
    card: Mapped[str | None] = mapped_column(Text, deferred=True)


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
    dataset: Mapped[DatasetSource] = mapped_column(RecordJson(_dataset_source))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(100))
    model_version: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))


class AuditEventRow(Base):
    """One model-changing request, or one refused key: who, from where, and the outcome."""

    __tablename__ = "audit_events"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's own API

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    action: Mapped[str] = mapped_column(String(50))
    outcome: Mapped[AuditOutcome] = mapped_column(
        Enum(
            AuditOutcome,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    status: Mapped[int] = mapped_column(Integer)
    key_name: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
