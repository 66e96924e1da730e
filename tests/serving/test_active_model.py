"""ActiveModel: serving the registry's active version, swapping it, and surviving bad files."""

import asyncio
import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from mlapi.metrics import Metrics
from mlapi.ml import ModelFileError
from mlapi.ml.persistence import bundled_model_bytes, sha256_hex
from mlapi.ml.provenance import LibraryMismatch, library_versions
from mlapi.serving.active_model import ActiveModel
from mlapi.serving.errors import ModelNotReadyError, ModelVersionNotFoundError
from mlapi.serving.reading import ModelReader
from mlapi.serving.records import ModelVersion
from mlapi.serving.registry import Registry
from mlapi.serving.store import ModelStore
from mlapi.serving.tables import ModelVersionRow
from mlapi.settings import Settings
from tests.serving.conftest import Trainer

SETOSA_ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture
def active(registry_settings: Settings, registry: Registry) -> ActiveModel:
    model = ActiveModel(registry_settings, registry)
    model.load()
    return model


def _file(registry: Registry, version: ModelVersion) -> Path:
    return Path(registry.store.path_for(version.checksum))


def _truncate(registry: Registry, version: ModelVersion) -> None:
    path = _file(registry, version)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _corrupt(registry: Registry, version: ModelVersion) -> None:
    path = _file(registry, version)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _same(served: ModelVersion, version: ModelVersion) -> bool:
    """Whether two records are of the same version, whenever each was read."""
    return served.checksum == version.checksum and served.version == version.version


def test_model_is_not_ready_before_load(registry_settings: Settings, registry: Registry) -> None:
    model = ActiveModel(registry_settings, registry)

    assert model.ready is False
    with pytest.raises(ModelNotReadyError):
        _ = model.served
    with pytest.raises(ModelNotReadyError):
        asyncio.run(model.model())


def test_load_on_a_new_registry_serves_the_bundled_model_as_version_1(
    registry_settings: Settings, registry: Registry
) -> None:
    model = ActiveModel(registry_settings, registry)

    served = model.load()

    assert model.ready is True
    assert model.served is served
    assert served.version.version == 1
    assert served.classifier.checksum == sha256_hex(bundled_model_bytes())
    assert registry.active() is not None
    assert registry.active().version == 1


def test_load_applies_settings_to_the_classifier(
    tmp_path: Path, database_url: str, registry: Registry
) -> None:
    settings = Settings(
        model_dir=str(tmp_path / "models"),
        cache_dir=tmp_path / "dl",
        test_size=0.3,
        database_url=database_url,
    )

    served = ActiveModel(settings, registry).load()

    assert served.classifier.cache_dir == tmp_path / "dl"
    assert served.classifier.test_size == 0.3


def test_load_serves_the_version_already_active(
    registry_settings: Settings, registry: Registry, train: Trainer
) -> None:
    version = registry.register(train(), created_by="test")
    registry.activate(version.version, activated_by="test")

    served = ActiveModel(registry_settings, registry).load()

    assert _same(served.version, version)


def test_activate_serves_the_new_version_at_once(
    active: ActiveModel, registry: Registry, train: Trainer
) -> None:
    version = registry.register(train(max_depth=1), created_by="test")

    state = asyncio.run(active.activate(version.version, activated_by="alice"))

    assert _same(active.served.version, version)
    assert (state.version, state.generation) == (version.version, 2)
    assert registry.active() == state
    assert registry.activations()[-1].activated_by == "alice"


def test_activate_of_a_damaged_version_raises_and_changes_nothing(
    active: ActiveModel, registry: Registry, train: Trainer
) -> None:
    before = registry.active()
    version = registry.register(train(), created_by="test")
    _corrupt(registry, version)

    with pytest.raises(ModelFileError, match="damaged"):
        asyncio.run(active.activate(version.version, activated_by="test"))

    assert active.served.version.version == 1
    assert registry.active() == before


def test_activating_the_version_served_before_reuses_its_loaded_model(
    active: ActiveModel, registry: Registry, train: Trainer
) -> None:
    bundled = active.served.classifier
    version = registry.register(train(max_depth=1), created_by="test")
    asyncio.run(active.activate(version.version, activated_by="test"))
    trained = active.served.classifier

    asyncio.run(active.activate(1, activated_by="roll-back"))
    assert active.served.classifier is bundled
    asyncio.run(active.activate(version.version, activated_by="roll-forward"))
    assert active.served.classifier is trained


def test_a_kept_version_whose_file_was_damaged_since_is_refused(
    active: ActiveModel, registry: Registry, train: Trainer
) -> None:
    version = registry.register(train(max_depth=1), created_by="test")
    asyncio.run(active.activate(version.version, activated_by="test"))
    before = registry.active()
    _truncate(registry, registry.get(1))

    with pytest.raises(ModelFileError):
        asyncio.run(active.activate(1, activated_by="roll-back"))

    assert active.served.version.version == version.version
    assert registry.active() == before


def test_with_no_versions_cached_each_activation_loads_the_file_again(
    registry_settings: Settings, registry: Registry, train: Trainer
) -> None:
    active = ActiveModel(registry_settings.model_copy(update={"cached_versions": 0}), registry)
    bundled = active.load().classifier
    version = registry.register(train(max_depth=1), created_by="test")
    asyncio.run(active.activate(version.version, activated_by="test"))

    asyncio.run(active.activate(1, activated_by="roll-back"))

    assert active.served.classifier is not bundled
    assert active.served.classifier.checksum == bundled.checksum


def test_a_version_read_by_a_helper_process_serves_as_one_read_in_place(
    registry_settings: Settings, registry: Registry, train: Trainer
) -> None:
    version = registry.register(train(max_depth=2), created_by="test")
    in_place = registry.load(version.version)[1]
    active = ActiveModel(registry_settings, registry, reader=ModelReader(helper_min_bytes=0))
    active.load()

    asyncio.run(active.activate(version.version, activated_by="test"))

    assert _same(active.served.version, version)
    assert active.served.classifier.predict([SETOSA_ROW]) == in_place.predict([SETOSA_ROW])


def test_activate_of_unknown_version_raises_not_found(active: ActiveModel) -> None:
    with pytest.raises(ModelVersionNotFoundError):
        asyncio.run(active.activate(77, activated_by="test"))

    assert active.served.version.version == 1


def test_refresh_follows_an_activation_made_through_another_registry(
    active: ActiveModel, engine: Engine, store: ModelStore, train: Trainer
) -> None:
    elsewhere = Registry(engine, store)
    version = elsewhere.register(train(), created_by="other process")
    elsewhere.activate(version.version, activated_by="other process")

    changed = asyncio.run(active.refresh())
    unchanged = asyncio.run(active.refresh())

    assert (changed, unchanged) == (True, False)
    assert _same(active.served.version, version)


def test_refresh_without_a_new_activation_changes_nothing(active: ActiveModel) -> None:
    served = active.served

    assert asyncio.run(active.refresh()) is False
    assert active.served is served


def test_refresh_to_a_damaged_version_keeps_serving_the_current_one(
    active: ActiveModel, registry: Registry, train: Trainer
) -> None:
    good = registry.register(train(), created_by="test")
    asyncio.run(active.activate(good.version, activated_by="test"))
    damaged = registry.register(train(), created_by="test")
    _truncate(registry, damaged)
    registry.activate(damaged.version, activated_by="someone else")

    changed = asyncio.run(active.refresh())

    assert changed is True
    assert _same(active.served.version, good)
    assert asyncio.run(active.refresh()) is False  # not retried at every poll


def test_serving_a_fallback_is_ready_but_degraded_until_a_loadable_version_is_activated(
    registry_settings: Settings, registry: Registry, train: Trainer
) -> None:
    metrics = Metrics()
    active = ActiveModel(registry_settings, registry, metrics=metrics)
    active.load()
    active.publish()
    good = registry.register(train(), created_by="test")
    damaged = registry.register(train(), created_by="test")
    _truncate(registry, damaged)

    asyncio.run(active.activate(good.version, activated_by="test"))
    ready = active.health()
    registry.activate(damaged.version, activated_by="someone else")
    asyncio.run(active.refresh())
    degraded, fallback_gauge = (
        active.health(),
        metrics.registry.get_sample_value("mlapi_model_fallback"),
    )
    asyncio.run(active.activate(good.version, activated_by="test"))

    assert (ready.status, ready.model_version) == ("ready", good.version)
    assert (degraded.status, degraded.model_version) == ("degraded", good.version)
    assert fallback_gauge == 1
    assert active.health().status == "ready"
    assert metrics.registry.get_sample_value("mlapi_model_fallback") == 0
    served = {"version": str(good.version), "algorithm": good.algorithm, "dataset": "iris"}
    assert metrics.registry.get_sample_value("mlapi_model_info", served) == 1


@pytest.mark.parametrize("damage", [_truncate, _corrupt])
def test_load_falls_back_to_the_newest_other_good_version(
    registry_settings: Settings, registry: Registry, train: Trainer, damage: object
) -> None:
    registry.bootstrap()
    older = registry.register(train(), created_by="test")
    newer = registry.register(train(), created_by="test")
    broken = registry.register(train(), created_by="test")
    registry.activate(broken.version, activated_by="test")
    damage(registry, broken)  # type: ignore[operator]
    _corrupt(registry, newer)

    active = ActiveModel(registry_settings, registry)
    served = active.load()

    assert _same(served.version, older)
    assert registry.active().version == broken.version  # type: ignore[union-attr]
    assert active.health().status == "degraded"


def test_load_falls_back_to_the_bundled_model_when_nothing_else_loads(
    registry_settings: Settings, registry: Registry, train: Trainer
) -> None:
    bundled = registry.get(registry.bootstrap().version)
    broken = registry.register(train(), created_by="test")
    registry.activate(broken.version, activated_by="test")
    _truncate(registry, broken)
    _truncate(registry, bundled)

    served = ActiveModel(registry_settings, registry).load()

    assert served.classifier.checksum == sha256_hex(bundled_model_bytes())
    assert served.classifier.predict([SETOSA_ROW])["prediction"] == [0]
    assert served.version.checksum == served.classifier.checksum


def test_load_when_the_active_file_is_gone_still_serves(
    registry_settings: Settings, registry: Registry
) -> None:
    _file(registry, registry.get(registry.bootstrap().version)).unlink()

    served = ActiveModel(registry_settings, registry).load()

    assert served.classifier.predict([SETOSA_ROW])["prediction"] == [0]


def _made_by_other_libraries(engine: Engine, version: ModelVersion) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.version == version.version)
            .values(libraries={**library_versions(), "scikit-learn": "1.0.2"})
        )


@pytest.fixture
def refusing(registry_settings: Settings, engine: Engine, store: ModelStore) -> ActiveModel:
    """An active model that refuses versions made by other library versions, loaded."""
    settings = registry_settings.model_copy(update={"library_mismatch": LibraryMismatch.REFUSE})
    model = ActiveModel(settings, Registry(engine, store, settings.library_mismatch))
    model.load()
    return model


def test_activating_a_version_of_other_libraries_in_refuse_mode_raises_and_changes_nothing(
    refusing: ActiveModel, registry: Registry, engine: Engine, train: Trainer
) -> None:
    before = registry.active()
    version = registry.register(train(), created_by="test")
    _made_by_other_libraries(engine, version)

    with pytest.raises(ModelFileError, match=r"other library versions: scikit-learn 1\.0\.2"):
        asyncio.run(refusing.activate(version.version, activated_by="test"))
    with pytest.raises(ModelFileError, match="other library versions"):
        asyncio.run(refusing.model(version.version))

    assert refusing.served.version.version == 1
    assert registry.active() == before


def test_activating_a_version_of_other_libraries_in_warn_mode_serves_it_and_logs_which(
    active: ActiveModel,
    registry: Registry,
    engine: Engine,
    train: Trainer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    version = registry.register(train(max_depth=1), created_by="test")
    _made_by_other_libraries(engine, version)

    with caplog.at_level(logging.WARNING, logger="mlapi.ml.provenance"):
        asyncio.run(active.activate(version.version, activated_by="test"))

    assert _same(active.served.version, version)
    assert f"model version {version.version} was made by other library versions" in caplog.text
    assert f"scikit-learn 1.0.2 (here {library_versions()['scikit-learn']})" in caplog.text


def test_refresh_to_a_version_of_other_libraries_in_refuse_mode_keeps_the_current_one(
    refusing: ActiveModel, registry: Registry, engine: Engine, train: Trainer
) -> None:
    version = registry.register(train(), created_by="test")
    _made_by_other_libraries(engine, version)
    registry.activate(version.version, activated_by="someone else")

    assert asyncio.run(refusing.refresh()) is True
    assert refusing.served.version.version == 1


def test_load_in_refuse_mode_falls_back_from_an_active_version_of_other_libraries(
    registry_settings: Settings, registry: Registry, engine: Engine, train: Trainer
) -> None:
    registry.bootstrap()
    good = registry.register(train(), created_by="test")
    other = registry.register(train(), created_by="test")
    registry.activate(other.version, activated_by="test")
    _made_by_other_libraries(engine, other)
    settings = registry_settings.model_copy(update={"library_mismatch": LibraryMismatch.REFUSE})

    served = ActiveModel(settings, Registry(engine, registry.store, LibraryMismatch.REFUSE)).load()
    in_warn_mode = ActiveModel(registry_settings, registry).load()

    assert _same(served.version, good)
    assert _same(in_warn_mode.version, other)
