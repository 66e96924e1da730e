"""Fixtures shared by every test: a clean environment and per-test settings."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import create_engine, make_url, text

from mlapi.settings import Settings

if TYPE_CHECKING:
    from tests.e2e.cluster import DaskCluster

#: A PostgreSQL server's URL, set by scripts/with-postgres.sh (make test starts one).
POSTGRES_URL = os.environ.get("PYTEST_POSTGRES_URL")
#: Set by make test: a missing PostgreSQL server fails the tests instead of skipping them.
REQUIRE_POSTGRES = bool(os.environ.get("PYTEST_REQUIRE_POSTGRES"))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Keep the developer's MLAPI_* variables and ./mlapi.toml out of every test."""
    for name in list(os.environ):
        if name.startswith("MLAPI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield
    # `mlapi --config` sets MLAPI_CONFIG_FILE for worker processes; undo it here.
    for name in list(os.environ):
        if name.startswith("MLAPI_"):
            del os.environ[name]


#: Keys for the test S3 server, which takes any when it does not authenticate.
S3_KEYS = {"aws_access_key_id": "test-key-id", "aws_secret_access_key": "test-secret"}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """One S3-compatible server (moto) for the whole session: its endpoint URL.

    Each test makes a bucket of its own (:func:`s3_bucket`), so tests never see each
    other's files.
    """
    from tests.e2e.services import start_s3_server  # moto only for the tests that use it

    with start_s3_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def s3_client(s3_server: str) -> Iterator[Any]:
    import botocore.session

    client = botocore.session.get_session().create_client(
        "s3", endpoint_url=s3_server, region_name="us-east-1", **S3_KEYS
    )
    yield client
    client.close()


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A new, empty bucket on the session's S3 server, private to the test: its name."""
    name = f"mlapi-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose model and cache folders are private to the test (development mode)."""
    return Settings(model_dir=str(tmp_path / "models"), cache_dir=tmp_path / "cache", dev_mode=True)


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """Make an empty registry database on SQLite or on the PostgreSQL server.

    Args:
        kind: ``sqlite`` or ``postgresql``.
        folder: Where the SQLite file goes.

    Yields:
        Its URL.
    """
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'registry.sqlite3'}"
        return
    if not POSTGRES_URL:
        message = "PYTEST_POSTGRES_URL is not set: run through scripts/with-postgres.sh"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    name = f"mlapi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty registry database: SQLite, then a new database on PostgreSQL."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def registry_settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings with a private model store and a fresh registry on each database."""
    return Settings(
        model_dir=str(tmp_path / "models"),
        cache_dir=tmp_path / "cache",
        database_url=database_url,
        dev_mode=True,
    )


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator["DaskCluster"]:
    """A real Dask scheduler and two workers on loopback, shared by the whole run.

    Here rather than in tests/e2e/conftest.py so that the dispatcher's tests
    (tests/serving/jobs/test_cluster.py) and the replicas' share one cluster.
    """
    from tests.e2e.cluster import dask_cluster as started  # distributed only where used

    with started(tmp_path_factory.mktemp("dask")) as cluster:
        yield cluster
