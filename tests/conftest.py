"""Fixtures shared by every test: a clean environment and per-test settings."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlapi.settings import Settings


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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose model and cache folders are private to the test."""
    return Settings(model_dir=tmp_path / "models", cache_dir=tmp_path / "cache")
