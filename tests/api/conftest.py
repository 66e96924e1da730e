"""An in-process app with a loaded model, for API tests."""

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mlapi.main import create_app
from mlapi.settings import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A test client whose app has started and loaded its model."""
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 30
        while client.get("/v1/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "model did not load"
            time.sleep(0.01)
        yield client


@pytest.fixture
def settings_with_defaults(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client whose settings give gradient boosting 7 estimators by default."""
    configured = Settings(
        model_dir=tmp_path / "models", hyperparameters={"gradient_boosting": {"n_estimators": 7}}
    )
    with TestClient(create_app(configured)) as client:
        deadline = time.monotonic() + 30
        while client.get("/v1/health/ready").status_code != 200:
            assert time.monotonic() < deadline, "model did not load"
            time.sleep(0.01)
        yield client
