"""Registry databases: engines, and migrating their schema once however often it is asked."""

import dataclasses
import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from mlapi.ml import IrisClassifier
from mlapi.ml.persistence import bundled_model_bytes
from mlapi.serving.database import make_engine, migrate
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.records import DatasetSource, JobState
from mlapi.serving.registry import Registry
from mlapi.serving.store import ModelStore
from mlapi.serving.tables import utc_now

#: The newest migration.
HEAD = "0006"

TABLES = {
    "model_versions",
    "active_version",
    "activations",
    "training_jobs",
    "audit_events",
    "alembic_version",
}


def _head(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(text("SELECT version_num FROM alembic_version")))


def test_migrate_creates_every_table_at_the_newest_revision(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)

        assert set(inspect(engine).get_table_names()) >= TABLES
        assert _head(engine) == [HEAD]
    finally:
        engine.dispose()


def test_migrate_twice_changes_nothing_and_keeps_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO activations (version, activated_at, activated_by) "
                    "VALUES (7, :now, 'test')"
                ),
                {"now": utc_now().replace(tzinfo=None)},
            )

        migrate(engine)

        assert _head(engine) == [HEAD]
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM activations")) == 1
    finally:
        engine.dispose()


def _migrate_all_at_once(engines: list[Engine]) -> list[BaseException]:
    """Migrate each engine from a thread of its own, all released together."""
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        barrier.wait()
        try:
            migrate(engine)
        except BaseException as error:  # reported by the caller, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_migrate_from_several_threads_at_once_succeeds_once(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(8)]
    try:
        assert _migrate_all_at_once(engines) == []
        assert _head(engines[0]) == [HEAD]
        assert set(inspect(engines[0]).get_table_names()) >= TABLES
    finally:
        for engine in engines:
            engine.dispose()


def test_threads_migrating_different_databases_at_once_all_succeed(tmp_path: Path) -> None:
    # Alembic keeps the running migration in module globals: two at once in one process
    # (two apps starting in one test run, say) would trip over each other.
    engines = [make_engine(f"sqlite:///{tmp_path / f'r{n}.sqlite3'}") for n in range(6)]
    try:
        assert _migrate_all_at_once(engines) == []
        assert [_head(engine) for engine in engines] == [[HEAD]] * len(engines)
    finally:
        for engine in engines:
            engine.dispose()


def test_migrate_creates_the_folder_of_a_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "deep" / "er" / "registry.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    try:
        migrate(engine)

        assert database.is_file()
    finally:
        engine.dispose()


def test_sqlite_engine_uses_wal_journal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert connection.scalar(text("PRAGMA foreign_keys")) == 1
    finally:
        engine.dispose()


def test_sqlite_engine_refuses_an_active_version_naming_no_model(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    try:
        migrate(engine)
        with (
            pytest.raises(IntegrityError, match="FOREIGN KEY"),
            engine.begin() as connection,
        ):
            connection.execute(
                text(
                    "INSERT INTO active_version (id, version, generation, activated_at) "
                    "VALUES (1, 42, 1, :now)"
                ),
                {"now": utc_now().replace(tzinfo=None)},
            )
    finally:
        engine.dispose()


def test_job_states_are_stored_as_their_lowercase_names(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        now = utc_now().replace(tzinfo=None)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO training_jobs (id, state, progress, algorithm, hyperparameters,"
                    " test_size, random_state, activate, dataset, created_by, created_at)"
                    " VALUES ('j', 'queued', 0, 'decision_tree', '{}', 0.2, 0, true,"
                    """ '{"url": null, "sha256": null, "name": "iris"}', 't', :now)"""
                ),
                {"now": now},
            )
        assert JobStore(engine).get("j").state is JobState.QUEUED
    finally:
        engine.dispose()


def test_upgrade_from_revision_0001_keeps_every_version_loadable(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    store = ModelStore(str(tmp_path / "models"))
    data = bundled_model_bytes()
    metadata = IrisClassifier.from_bytes(data).metadata
    assert metadata is not None
    try:
        migrate(engine, "0001")
        checksum = store.put(data)
        versions = sa.table(
            "model_versions",
            *(sa.column(name) for name in ("version", "algorithm", "dataset_name")),
            *(sa.column(name) for name in ("dataset_checksum", "training_seconds")),
            *(sa.column(name) for name in ("created_by", "created_at", "file_path")),
            sa.column("file_sha256"),
            *(sa.column(name, sa.JSON) for name in ("hyperparameters", "feature_names")),
            *(sa.column(name, sa.JSON) for name in ("class_names", "metrics")),
        )
        with engine.begin() as connection:
            connection.execute(
                versions.insert().values(
                    version=1,
                    algorithm=metadata.algorithm,
                    hyperparameters=metadata.hyperparameters,
                    dataset_name=metadata.dataset_name,
                    dataset_checksum=metadata.dataset_checksum,
                    feature_names=metadata.feature_names,
                    class_names=metadata.class_names,
                    metrics=dataclasses.asdict(metadata.evaluation),
                    training_seconds=metadata.training_seconds,
                    created_by="an earlier mlapi",
                    created_at=utc_now().replace(tzinfo=None),
                    file_path=store.path_for(checksum),
                    file_sha256=checksum,
                )
            )
            now = utc_now().replace(tzinfo=None)
            connection.execute(
                text(
                    "INSERT INTO active_version (id, version, generation, activated_at)"
                    " VALUES (1, 1, 1, :now)"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO activations (version, activated_at, activated_by)"
                    " VALUES (1, :now, 'an earlier mlapi')"
                ),
                {"now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO training_jobs (id, state, progress, algorithm, hyperparameters,"
                    " test_size, random_state, activate, created_by, created_at, model_version)"
                    " VALUES ('j', 'succeeded', 1, 'decision_tree', '{}', 0.2, 0, true, 't',"
                    " :now, 1)"
                ),
                {"now": now},
            )

        migrate(engine)

        assert _head(engine) == [HEAD]
        columns = {
            column["name"]: column for column in inspect(engine).get_columns("model_versions")
        }
        assert "file_path" not in columns
        if engine.dialect.name == "postgresql":  # new rows must name their own types
            assert columns["trusted_types"]["default"] is None
            assert columns["feature_types"]["default"] is None
        registry = Registry(engine, store)
        version, classifier = registry.load(1)
        assert (version.checksum, version.created_by, version.active) == (
            checksum,
            "an earlier mlapi",
            True,
        )
        assert [a.activated_by for a in registry.activations()] == ["an earlier mlapi"]
        job = JobStore(engine).get("j")
        assert (job.model_version, job.dataset) == (1, DatasetSource(name="iris"))
        assert job.request_id is None  # queued before jobs kept their request's id
        assert (version.feature_types, version.dataset_url, version.dataset_sha256) == (
            ["number"] * 4,
            None,
            None,
        )
        assert version.metrics == metadata.evaluation
        assert classifier.predict([[5.1, 3.5, 1.4, 0.2]])["prediction"] == [0]
        with engine.connect() as connection:
            recorded = connection.scalar(text("SELECT trusted_types FROM model_versions"))
        assert (json.loads(recorded) if isinstance(recorded, str) else recorded) == [
            "sklearn.tree._tree.Tree"
        ]
    finally:
        engine.dispose()


def test_upgrade_from_revision_0005_keeps_versions_and_makes_their_cards_on_request(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    store = ModelStore(str(tmp_path / "models"))
    data = bundled_model_bytes()
    metadata = IrisClassifier.from_bytes(data).metadata
    assert metadata is not None
    plain = ("algorithm", "dataset_name", "dataset_checksum", "training_seconds")
    plain += ("created_by", "created_at", "file_sha256", "dataset_url", "dataset_sha256")
    documents = ("hyperparameters", "feature_names", "feature_types", "class_names", "metrics")
    documents += ("trusted_types", "libraries")
    versions = sa.table(
        "model_versions",
        *(sa.column(name) for name in plain),
        *(sa.column(name, sa.JSON) for name in documents),
    )
    try:
        migrate(engine, "0005")
        checksum = store.put(data)
        with engine.begin() as connection:
            connection.execute(
                versions.insert().values(  # numbered by the database, as a registry's are
                    algorithm=metadata.algorithm,
                    hyperparameters=metadata.hyperparameters,
                    dataset_name=metadata.dataset_name,
                    dataset_checksum=metadata.dataset_checksum,
                    dataset_url=None,
                    dataset_sha256=None,
                    feature_names=metadata.feature_names,
                    feature_types=metadata.feature_types,
                    class_names=metadata.class_names,
                    metrics=dataclasses.asdict(metadata.evaluation),
                    training_seconds=metadata.training_seconds,
                    created_by="an earlier mlapi",
                    created_at=utc_now().replace(tzinfo=None),
                    file_sha256=checksum,
                    trusted_types=["sklearn.tree._tree.Tree"],
                    libraries=metadata.libraries,
                )
            )

        migrate(engine)

        assert _head(engine) == [HEAD]
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT card FROM model_versions")) is None
        registry = Registry(engine, store)
        assert registry.get(1).created_by == "an earlier mlapi"
        card = registry.card(1)
        assert card.startswith("# Model card of version 1\n")
        assert "by an earlier mlapi on" in card
        assert metadata.dataset_checksum in card
        # A version registered now gets its card with its row.
        classifier = IrisClassifier()
        iris = classifier.dataset()
        classifier.train(iris["X"], iris["y"], max_depth=2)
        version = registry.register(classifier, created_by="a later mlapi").version
        with engine.connect() as connection:
            stored = connection.scalar(
                text("SELECT card FROM model_versions WHERE version = :v"), {"v": version}
            )
        assert stored == registry.card(version)
        assert "by a later mlapi on" in stored
    finally:
        engine.dispose()
