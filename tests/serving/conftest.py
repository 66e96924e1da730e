"""Registry fixtures for the serving tests: a migrated database, its store, its jobs."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from mlapi.ml import IrisClassifier
from mlapi.serving.database import make_engine, migrate
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.registry import Registry
from mlapi.serving.store import ModelStore
from mlapi.settings import Settings

#: A trainer of small, distinct classifiers.
Trainer = Callable[..., IrisClassifier]


@pytest.fixture
def engine(registry_settings: Settings) -> Iterator[Engine]:
    """The migrated registry database of ``registry_settings`` (SQLite, then PostgreSQL)."""
    engine = make_engine(registry_settings.registry_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(registry_settings: Settings) -> ModelStore:
    """The model store of ``registry_settings``."""
    return ModelStore(registry_settings.model_dir)


@pytest.fixture
def registry(engine: Engine, store: ModelStore) -> Registry:
    """A registry on the migrated database and the private store."""
    return Registry(engine, store)


@pytest.fixture
def jobs(engine: Engine) -> JobStore:
    """The training jobs of the migrated database."""
    return JobStore(engine)


@pytest.fixture(scope="session")
def train() -> Trainer:
    """Train a decision tree on Iris; each call gives a new model (and a new file)."""

    def trainer(**hyperparameters: Any) -> IrisClassifier:
        classifier = IrisClassifier()
        data = classifier.dataset()
        classifier.train(
            data["X"],
            data["y"],
            feature_names=data["feature_names"],
            class_names=data["class_names"],
            **hyperparameters,
        )
        return classifier

    return trainer
