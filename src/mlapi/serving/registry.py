"""The model registry: immutable model versions, the one active version, and its history.

Versions are rows in the registry database pointing at content-addressed files in the
model store. Activating a version is one transaction that moves the single
``active_version`` row and bumps its generation, which every server process watches.
"""

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError

from mlapi.ml import IrisClassifier, MlapiError
from mlapi.ml.classifier import bundled_model_bytes
from mlapi.serving.database import read_page, session_factory
from mlapi.serving.store import ModelStore
from mlapi.serving.tables import ActivationRow, ActiveVersionRow, ModelVersionRow, utc_now

logger = logging.getLogger(__name__)


class ModelVersionNotFoundError(MlapiError):
    """No model version has that number."""


class VersionInUseError(MlapiError):
    """The version is active and cannot be deleted."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered, immutable model.

    Attributes:
        version: Its number, increasing with each registration.
        algorithm: Estimator name in the catalogue.
        hyperparameters: The hyperparameters it was trained with.
        dataset_name: The data set it was trained on.
        dataset_checksum: SHA-256 of that data set.
        feature_names: Its input columns.
        class_names: Its classes.
        metrics: Held-out evaluation (accuracy, macro F1, per class, confusion matrix).
        training_seconds: How long fitting took.
        created_by: Who or what registered it.
        created_at: When it was registered.
        file_path: Its file in the model store.
        file_sha256: SHA-256 of its file, checked on every load.
    """

    version: int
    algorithm: str
    hyperparameters: dict[str, Any]
    dataset_name: str
    dataset_checksum: str
    feature_names: list[str]
    class_names: list[str]
    metrics: dict[str, Any]
    training_seconds: float
    created_by: str
    created_at: datetime
    file_path: str
    file_sha256: str


@dataclass(frozen=True)
class ActiveState:
    """Which version is active, and a counter bumped by every activation.

    Attributes:
        version: The active version's number.
        generation: Increases with every activation, even of the same version.
        activated_at: When it was activated.
    """

    version: int
    generation: int
    activated_at: datetime


@dataclass(frozen=True)
class Activation:
    """One past activation.

    Attributes:
        version: The version activated.
        activated_at: When.
        activated_by: Who or what activated it.
    """

    version: int
    activated_at: datetime
    activated_by: str


T = TypeVar("T")


def from_row(kind: type[T], row: Any) -> T:
    """Copy a table row into a plain dataclass of the same field names.

    Args:
        kind: The dataclass.
        row: The ORM row.

    Returns:
        The dataclass instance.
    """
    return kind(**{field.name: getattr(row, field.name) for field in dataclasses.fields(kind)})  # type: ignore[arg-type]


class Registry:
    """Model versions in a database, their files in a model store.

    Args:
        engine: The registry database, already migrated.
        store: Where model files live.
    """

    def __init__(self, engine: Engine, store: ModelStore) -> None:
        self.engine = engine
        self.store = store
        self._sessions = session_factory(engine)

    def register(self, classifier: IrisClassifier, created_by: str) -> ModelVersion:
        """Store a trained model's file and record it as a new version.

        Registering the same file twice returns the existing version.

        Args:
            classifier: A trained classifier.
            created_by: Who or what trained it.

        Returns:
            The registered version.
        """
        metadata = classifier.metadata
        if metadata is None:
            raise ValueError("only trained classifiers can be registered")
        path, checksum = self.store.put(classifier.to_bytes())
        row = ModelVersionRow(
            algorithm=metadata.algorithm,
            hyperparameters=metadata.hyperparameters,
            dataset_name=metadata.dataset_name,
            dataset_checksum=metadata.dataset_checksum,
            feature_names=metadata.feature_names,
            class_names=metadata.class_names,
            metrics=dataclasses.asdict(metadata.evaluation),
            training_seconds=metadata.training_seconds,
            created_by=created_by,
            created_at=utc_now(),
            file_path=path,
            file_sha256=checksum,
        )
        try:
            with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            return self.find_by_checksum(checksum)
        return from_row(ModelVersion, row)

    def find_by_checksum(self, checksum: str) -> ModelVersion:
        """Find the version whose file has this SHA-256.

        Args:
            checksum: SHA-256 of the file.

        Returns:
            The version.

        Raises:
            ModelVersionNotFoundError: If none has.
        """
        with self._sessions() as session:
            row = session.scalars(
                select(ModelVersionRow).where(ModelVersionRow.file_sha256 == checksum)
            ).first()
        if row is None:
            raise ModelVersionNotFoundError(f"no model version has checksum {checksum}")
        return from_row(ModelVersion, row)

    def get(self, version: int) -> ModelVersion:
        """Look up one version.

        Args:
            version: Its number.

        Returns:
            The version.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
        """
        with self._sessions() as session:
            row = session.get(ModelVersionRow, version)
        if row is None:
            raise ModelVersionNotFoundError(f"model version {version} does not exist")
        return from_row(ModelVersion, row)

    def page(self, limit: int = 50, offset: int = 0) -> tuple[list[ModelVersion], int]:
        """List versions, newest first.

        Args:
            limit: Most versions returned.
            offset: Versions skipped first.

        Returns:
            The page of versions and the total number of versions.
        """
        order = [ModelVersionRow.version.desc()]
        rows, total = read_page(self._sessions, ModelVersionRow, order, limit, offset)
        return [from_row(ModelVersion, row) for row in rows], total

    def active(self) -> ActiveState | None:
        """Read which version is active.

        Returns:
            The active state, or None before any activation.
        """
        with self._sessions() as session:
            row = session.get(ActiveVersionRow, 1)
        return None if row is None else from_row(ActiveState, row)

    def activate(self, version: int, activated_by: str) -> ActiveState:
        """Make a version the active one, in one transaction.

        Args:
            version: The version to activate.
            activated_by: Who or what activates it.

        Returns:
            The new active state.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
        """
        try:
            return self._activate(version, activated_by, only_if_unset=False)
        except IntegrityError:
            # Two first activations raced to create the single row; it exists now.
            return self._activate(version, activated_by, only_if_unset=False)

    def _activate(self, version: int, activated_by: str, *, only_if_unset: bool) -> ActiveState:
        with self._sessions.begin() as session:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            if session.get(ModelVersionRow, version) is None:
                raise ModelVersionNotFoundError(f"model version {version} does not exist")
            row = session.get(ActiveVersionRow, 1, with_for_update=True)
            # Taken with the lock held, so that the history's times follow commit order.
            now = utc_now()
            if row is not None and only_if_unset:
                return from_row(ActiveState, row)
            if row is None:
                row = ActiveVersionRow(id=1, version=version, generation=1, activated_at=now)
                session.add(row)
            else:
                row.version, row.generation, row.activated_at = version, row.generation + 1, now
            session.add(ActivationRow(version=version, activated_at=now, activated_by=activated_by))
            session.flush()
            return from_row(ActiveState, row)

    def activations(self) -> list[Activation]:
        """List every activation, oldest first.

        Returns:
            The activation history.
        """
        with self._sessions() as session:
            rows = session.scalars(select(ActivationRow).order_by(ActivationRow.id)).all()
        return [from_row(Activation, row) for row in rows]

    def delete(self, version: int) -> None:
        """Delete a version and its file; the active version cannot be deleted.

        Args:
            version: The version to delete.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
            VersionInUseError: If it is the active version.
        """
        with self._sessions.begin() as session:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            row = session.get(ModelVersionRow, version)
            if row is None:
                raise ModelVersionNotFoundError(f"model version {version} does not exist")
            active = session.get(ActiveVersionRow, 1)
            if active is not None and active.version == version:
                raise VersionInUseError(
                    f"model version {version} is active: activate another first"
                )
            path = row.file_path
            shared = session.scalar(
                select(func.count())
                .select_from(ModelVersionRow)
                .where(ModelVersionRow.file_path == path)
            )
            session.execute(delete(ModelVersionRow).where(ModelVersionRow.version == version))
        if shared == 1:
            self.store.delete(path)

    def load(self, version: ModelVersion, **options: Any) -> IrisClassifier:
        """Load a version's model, checking its file against the registered SHA-256.

        Args:
            version: The version.
            **options: Keyword arguments of :class:`~mlapi.ml.IrisClassifier`.

        Returns:
            The classifier.

        Raises:
            ModelFileError: If the file is missing, damaged, or not a safe model file.
        """
        data = self.store.get(version.file_path, version.file_sha256)
        return IrisClassifier.from_bytes(data, **options)

    def bootstrap(self) -> ActiveState:
        """Make sure a version is active: on a new registry, the bundled model.

        Safe to call from several processes at once.

        Returns:
            The active state.
        """
        state = self.active()
        if state is not None:
            return state
        bundled = IrisClassifier.from_bytes(bundled_model_bytes())
        version = self.register(bundled, created_by="mlapi (bundled model)")
        try:
            return self._activate(version.version, "mlapi (first start)", only_if_unset=True)
        except IntegrityError:  # another process activated one at the same moment
            state = self.active()
            assert state is not None  # noqa: S101 - that process committed it
            return state
