"""The model registry: immutable model versions, the one active version, and its history.

Versions are rows in the registry database naming content-addressed files in the model
store. A version is registered only once its file has been read back by the same loader
that serves it, with the types recorded for it. It records the library versions that
made it (:mod:`mlapi.ml.provenance`); loading it compares those, not what its file says,
with this process's. Activating a version is one transaction that moves the single
``active_version`` row and bumps its generation, which every server process watches.
"""

import contextlib
import dataclasses
import logging
from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mlapi.ml import IrisClassifier, ModelFileError, ModelMetadata
from mlapi.ml.persistence import bundled_model_bytes
from mlapi.ml.provenance import LibraryMismatch, check_libraries
from mlapi.serving.cards import model_card
from mlapi.serving.database import read_page, session_factory
from mlapi.serving.errors import ModelStoreError, ModelVersionNotFoundError, VersionInUseError
from mlapi.serving.notify import announce
from mlapi.serving.records import Activation, ActiveState, ModelVersion, ModelVersionPage
from mlapi.serving.store import ModelStore
from mlapi.serving.tables import (
    ActivationRow,
    ActiveVersionRow,
    ModelVersionRow,
    to_record,
    utc_now,
)
from mlapi.settings import Settings

logger = logging.getLogger(__name__)

#: What a trained model's metadata and its version record both hold, by the same name.
_FROM_METADATA = frozenset(field.name for field in dataclasses.fields(ModelMetadata)) & frozenset(
    field.name for field in dataclasses.fields(ModelVersion)
)


def _active_number(session: Session) -> int | None:
    row = session.get(ActiveVersionRow, 1)
    return row.version if row is not None else None


class Registry:
    """Model versions in a database, their files in a model store.

    Args:
        engine: The registry database, already migrated.
        store: Where model files live.
        library_mismatch: What loading a version made by other library versions than
            this process's, or with no record of them, does: log a warning, or refuse.
    """

    def __init__(
        self,
        engine: Engine,
        store: ModelStore,
        library_mismatch: LibraryMismatch = LibraryMismatch.WARN,
    ) -> None:
        self.engine = engine
        self.store = store
        self.library_mismatch = library_mismatch
        self._sessions = session_factory(engine)

    @classmethod
    def for_settings(cls, engine: Engine, settings: Settings) -> "Registry":
        """Open the registry on ``engine`` with the model store and checks ``settings`` name."""
        return cls(engine, ModelStore.for_settings(settings), settings.library_mismatch)

    def register(self, classifier: IrisClassifier, created_by: str) -> ModelVersion:
        """Store a trained model's file and record it as a new version.

        The file is read back with the loader that serves versions, trusting only the
        types the classifier's own file holds, before any row is written: a model that
        could not be served is never registered. The library versions its metadata names
        are recorded with it, and its model card is written in the same transaction as its
        row. Registering the same file twice returns the existing version.

        Args:
            classifier: A trained classifier.
            created_by: Who or what trained it.

        Returns:
            The registered version.

        Raises:
            ModelFileError: If the file does not load back; nothing is registered.
        """
        metadata = classifier.metadata
        if metadata is None:
            raise ValueError("only trained classifiers can be registered")
        checksum = self.store.put(classifier.to_bytes())  # written, or a damaged copy healed
        with contextlib.suppress(ModelVersionNotFoundError):
            return self.find_by_checksum(checksum)
        trusted_types = classifier.trusted_types
        try:
            self._read(checksum, trusted_types)
        except ModelFileError:
            # The same bytes fail the same way for everyone: no version can hold them.
            self.store.delete(checksum)
            raise
        row = ModelVersionRow(
            **{name: getattr(metadata, name) for name in _FROM_METADATA},
            metrics=metadata.evaluation,
            created_by=created_by,
            created_at=utc_now(),
            checksum=checksum,
            trusted_types=trusted_types,
        )
        try:
            with self._sessions.begin() as session:
                session.add(row)
                session.flush()  # numbers the version, which its card names
                record = to_record(ModelVersion, row, active=False)
                row.card = model_card(record, metadata.training_rows)
        except IntegrityError:  # another process registered the same file meanwhile
            return self.find_by_checksum(checksum)
        return record

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
                select(ModelVersionRow).where(ModelVersionRow.checksum == checksum)
            ).first()
            if row is None:
                raise ModelVersionNotFoundError(f"no model version has checksum {checksum}")
            return to_record(ModelVersion, row, active=_active_number(session) == row.version)

    def get(self, version: int) -> ModelVersion:
        """Look up one version.

        Returns:
            The version.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
        """
        with self._sessions() as session:
            row = self._row(session, version)
            return to_record(ModelVersion, row, active=_active_number(session) == version)

    def card(self, version: int) -> str:
        """Read a version's model card; one registered before mlapi wrote cards gets one now.

        A missing card is made from the version's row each time it is asked for, and not
        saved: reading stays read-only, and the card is the same every time (but for the
        test size, which only the model file's metadata knows).

        Returns:
            The card in Markdown (see :func:`~mlapi.serving.cards.model_card`).

        Raises:
            ModelVersionNotFoundError: If there is no such version.
        """
        with self._sessions() as session:
            row = self._row(session, version)
            return row.card or model_card(to_record(ModelVersion, row, active=False))

    def verify(self, version: int) -> ModelVersion:
        """Look up one version and check that its file is still the one registered.

        What a model already loaded needs before it is served again: reading and hashing
        the file takes milliseconds, loading it again seconds.

        Returns:
            The version.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
            ModelFileError: If its file is missing or no longer matches its checksum, or
                it was made by other library versions and is refused.
        """
        record = self._checked(self.get(version))
        self.store.get(record.checksum)
        return record

    def _checked(self, record: ModelVersion) -> ModelVersion:
        what = f"model version {record.version}"
        check_libraries(record.libraries, self.library_mismatch, what)
        return record

    @staticmethod
    def _row(session: Session, version: int) -> ModelVersionRow:
        row = session.get(ModelVersionRow, version)
        if row is None:
            raise ModelVersionNotFoundError(f"model version {version} does not exist")
        return row

    def page(self, limit: int = 50, offset: int = 0) -> ModelVersionPage:
        """List versions, newest first.

        Args:
            limit: Most versions returned.
            offset: Versions skipped first.

        Returns:
            The page of versions and the total number of versions.
        """
        order = [ModelVersionRow.version.desc()]
        rows, total = read_page(self._sessions, ModelVersionRow, order, limit, offset)
        state = self.active()
        active = state.version if state else None
        items = [to_record(ModelVersion, row, active=row.version == active) for row in rows]
        return ModelVersionPage(items=items, total=total, limit=limit, offset=offset)

    def active(self) -> ActiveState | None:
        """Read which version is active.

        Returns:
            The active state, or None before any activation.
        """
        with self._sessions() as session:
            row = session.get(ActiveVersionRow, 1)
        return None if row is None else to_record(ActiveState, row)

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
            self._row(session, version)
            row = session.get(ActiveVersionRow, 1, with_for_update=True)
            # Taken with the lock held, so that the history's times follow commit order.
            now = utc_now()
            if row is not None and only_if_unset:
                return to_record(ActiveState, row)
            if row is None:
                row = ActiveVersionRow(id=1, version=version, generation=1, activated_at=now)
                session.add(row)
            else:
                row.version, row.generation, row.activated_at = version, row.generation + 1, now
            session.add(ActivationRow(version=version, activated_at=now, activated_by=activated_by))
            session.flush()
            announce(session, row.generation)  # sent by PostgreSQL at the commit
            return to_record(ActiveState, row)

    def activations(self) -> list[Activation]:
        """List every activation, oldest first.

        Returns:
            The activation history.
        """
        with self._sessions() as session:
            rows = session.scalars(select(ActivationRow).order_by(ActivationRow.id)).all()
        return [to_record(Activation, row) for row in rows]

    def delete(self, version: int) -> None:
        """Delete a version and its file; the active version cannot be deleted.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
            VersionInUseError: If it is the active version.
        """
        with self._sessions.begin() as session:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            checksum = self._row(session, version).checksum
            if _active_number(session) == version:
                raise VersionInUseError(
                    f"model version {version} is active: activate another first"
                )
            session.execute(delete(ModelVersionRow).where(ModelVersionRow.version == version))
        try:
            self.store.delete(checksum)
        except ModelStoreError as error:  # the version is gone; its file only takes room
            logger.warning(
                "model version %s deleted, its file left in the store: %s", version, error
            )

    def load(self, version: int, **options: Any) -> tuple[ModelVersion, IrisClassifier]:
        """Load a version's model as served: file checked, recorded types and libraries used.

        Args:
            version: The version number.
            **options: Keyword arguments of :meth:`~mlapi.ml.IrisClassifier.from_bytes`
                (``reader``) and of :class:`~mlapi.ml.IrisClassifier`.

        Returns:
            The version and its classifier.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
            ModelFileError: If the file is missing, damaged, or not a safe model file,
                or the version was made by other library versions and is refused.
        """
        with self._sessions() as session:
            row = self._row(session, version)
            record = to_record(ModelVersion, row, active=_active_number(session) == version)
            trusted_types = list(row.trusted_types)
        self._checked(record)  # before reading: a refused file is not even read
        return record, self._read(record.checksum, trusted_types, **options)

    def _read(
        self, checksum: str, trusted_types: Collection[str], **options: Any
    ) -> IrisClassifier:
        data = self.store.get(checksum)
        # The versions the registry recorded are compared, not those the file names.
        return IrisClassifier.from_bytes(
            data, trusted_types=trusted_types, library_mismatch=None, **options
        )

    def bootstrap(self) -> ActiveState:
        """Make sure a version is active: on a new registry, the bundled model.

        Safe to call from several processes at once.

        Returns:
            The active state.
        """
        state = self.active()
        if state is not None:
            return state
        # Registered with the versions its metadata names, compared when it is loaded.
        bundled = IrisClassifier.from_bytes(bundled_model_bytes(), library_mismatch=None)
        version = self.register(bundled, created_by="mlapi (bundled model)")
        try:
            return self._activate(version.version, "mlapi (first start)", only_if_unset=True)
        except IntegrityError:  # another process activated one at the same moment
            state = self.active()
            assert state is not None  # noqa: S101 - that process committed it
            return state
