"""Started in-process apps, on each registry database, for API tests.

Every app start spawns a training process that imports scikit-learn, so tests that
only read, or are refused before anything changes, share one app per module
(``shared_client``); tests that train, activate or delete get their own (``client``).
"""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlapi.main import create_app
from mlapi.settings import Settings
from tests.conftest import fresh_database

#: Safety net for start-up; not a performance assertion.
STARTUP_SECONDS = 60


def started(settings: Settings) -> Iterator[TestClient]:
    """Start an app and wait until it serves a model.

    Args:
        settings: The app's settings.

    Yields:
        A client of the started app.
    """
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + STARTUP_SECONDS
        while client.get("/v1/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "model did not load"
            time.sleep(0.01)
        yield client


def registry_settings(folder: Path, database_url: str) -> Settings:
    """Settings with a model store in ``folder`` and the given registry database."""
    return Settings(
        model_dir=str(folder / "models"),
        cache_dir=folder / "cache",
        database_url=database_url,
        dev_mode=True,
    )


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    """A started app of its own: a fresh SQLite registry, then a fresh PostgreSQL one."""
    yield from started(registry_settings(tmp_path, database_url))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """A started app shared by a module's tests that change nothing, on each database."""
    folder = tmp_path_factory.mktemp("shared-app")
    with fresh_database(request.param, folder) as database_url:
        with pytest.MonkeyPatch.context() as environment:
            # Built before the per-test clean environment: keep MLAPI_* and ./mlapi.toml out.
            for name in [name for name in os.environ if name.startswith("MLAPI_")]:
                environment.delenv(name)
            environment.chdir(folder)
            settings = registry_settings(folder, database_url)
        yield from started(settings)


@pytest.fixture
def settings_with_defaults(tmp_path: Path) -> Iterator[TestClient]:
    """A started app whose settings make gradient boosting, with 7 estimators, the default."""
    yield from started(
        Settings(
            model_dir=str(tmp_path / "models"),
            cache_dir=tmp_path / "cache",
            default_algorithm="gradient_boosting",
            hyperparameters={"gradient_boosting": {"n_estimators": 7}},
            dev_mode=True,
        )
    )
