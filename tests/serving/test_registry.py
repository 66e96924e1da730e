"""The registry: immutable versions, one active version, its history, and bootstrap."""

import dataclasses
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from mlapi.ml import IrisClassifier, ModelFileError, persistence
from mlapi.ml.persistence import bundled_model_bytes, sha256_hex
from mlapi.ml.provenance import LibraryMismatch, library_versions
from mlapi.serving.errors import ModelVersionNotFoundError, VersionInUseError
from mlapi.serving.records import ModelVersion
from mlapi.serving.registry import Registry
from mlapi.serving.store import ModelStore
from mlapi.serving.tables import ModelVersionRow
from tests.serving.conftest import Trainer

SETOSA_ROW = [5.1, 3.5, 1.4, 0.2]


def test_register_records_where_the_model_came_from_and_how_good_it_is(
    registry: Registry, train: Trainer
) -> None:
    classifier = train(max_depth=2)
    before = datetime.now(UTC)

    registered = registry.register(classifier, created_by="alice")
    version = registry.get(registered.version)

    assert version == registered
    assert version.algorithm == "decision_tree"
    assert version.hyperparameters["max_depth"] == 2
    assert version.dataset_name == "iris"
    assert version.dataset_checksum == classifier.metadata.dataset_checksum  # type: ignore[union-attr]
    assert len(version.dataset_checksum) == 64
    assert version.feature_names == IrisClassifier.dataset()["feature_names"]
    assert version.class_names == ["setosa", "versicolor", "virginica"]
    assert version.metrics == classifier.evaluation
    assert 0 < version.accuracy == version.metrics.accuracy <= 1
    assert 0 < version.metrics.macro_f1 <= 1
    assert set(version.metrics.per_class) == {"setosa", "versicolor", "virginica"}
    assert len(version.metrics.confusion_matrix) == 3
    assert version.training_seconds > 0
    assert version.created_by == "alice"
    assert before - timedelta(seconds=1) <= version.created_at <= datetime.now(UTC)
    assert version.created_at.tzinfo is not None
    assert version.active is False


def _file(registry: Registry, version: ModelVersion) -> Path:
    return Path(registry.store.path_for(version.checksum))


def test_register_stores_the_file_under_its_checksum(registry: Registry, train: Trainer) -> None:
    classifier = train()

    version = registry.register(classifier, created_by="test")

    data = _file(registry, version).read_bytes()
    assert sha256_hex(data) == version.checksum
    assert data == classifier.to_bytes()
    assert _file(registry, version).name == f"{version.checksum}.skops"


def test_register_numbers_versions_in_order(registry: Registry, train: Trainer) -> None:
    numbers = [registry.register(train(), created_by="test").version for _ in range(3)]

    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3


def test_register_same_model_twice_returns_the_same_version(
    registry: Registry, train: Trainer
) -> None:
    classifier = train()

    first = registry.register(classifier, created_by="first")
    second = registry.register(classifier, created_by="second")

    assert second == first
    assert registry.page().total == 1


def test_register_same_file_loaded_twice_returns_the_same_version(
    registry: Registry, train: Trainer
) -> None:
    data = train().to_bytes()

    first = registry.register(IrisClassifier.from_bytes(data), created_by="test")
    second = registry.register(IrisClassifier.from_bytes(data), created_by="test")

    assert first.version == second.version
    assert first.checksum == sha256_hex(data)


def test_register_refuses_an_untrained_classifier(registry: Registry) -> None:
    with pytest.raises(ValueError, match="trained"):
        registry.register(IrisClassifier(), created_by="test")


def test_get_of_unknown_version_raises_not_found(registry: Registry) -> None:
    with pytest.raises(ModelVersionNotFoundError, match="99"):
        registry.get(99)


def test_find_by_checksum_finds_the_version_of_a_file(registry: Registry, train: Trainer) -> None:
    version = registry.register(train(), created_by="test")

    assert registry.find_by_checksum(version.checksum) == version
    with pytest.raises(ModelVersionNotFoundError):
        registry.find_by_checksum("0" * 64)


def test_page_lists_newest_first_with_the_total(registry: Registry, train: Trainer) -> None:
    numbers = [registry.register(train(), created_by="test").version for _ in range(5)]

    first = registry.page(limit=2)
    second = registry.page(limit=2, offset=2)
    last = registry.page(limit=2, offset=4)
    beyond = registry.page(limit=2, offset=5)

    assert first.total == beyond.total == 5
    assert (second.limit, second.offset) == (2, 2)
    listed = [v.version for v in [*first.items, *second.items, *last.items]]
    assert listed == sorted(numbers, reverse=True)
    assert len(last.items) == 1
    assert beyond.items == []


def test_page_of_an_empty_registry_is_empty(registry: Registry) -> None:
    page = registry.page()
    assert (page.items, page.total) == ([], 0)


def test_active_is_none_before_any_activation(registry: Registry) -> None:
    assert registry.active() is None
    assert registry.activations() == []


def test_activate_points_at_the_version_and_bumps_the_generation(
    registry: Registry, train: Trainer
) -> None:
    one = registry.register(train(), created_by="test")
    two = registry.register(train(), created_by="test")

    first = registry.activate(one.version, activated_by="alice")
    second = registry.activate(two.version, activated_by="bob")
    again = registry.activate(two.version, activated_by="carol")

    assert (first.version, first.generation) == (one.version, 1)
    assert (second.version, second.generation) == (two.version, 2)
    assert (again.version, again.generation) == (two.version, 3)
    assert registry.active() == again


def test_activate_records_each_activation_oldest_first(registry: Registry, train: Trainer) -> None:
    one = registry.register(train(), created_by="test")
    two = registry.register(train(), created_by="test")

    registry.activate(one.version, activated_by="alice")
    state = registry.activate(two.version, activated_by="bob")

    history = registry.activations()
    assert [(a.version, a.activated_by) for a in history] == [
        (one.version, "alice"),
        (two.version, "bob"),
    ]
    assert history[-1].activated_at == state.activated_at


def test_activate_unknown_version_raises_and_changes_nothing(
    registry: Registry, train: Trainer
) -> None:
    one = registry.register(train(), created_by="test")
    state = registry.activate(one.version, activated_by="alice")

    with pytest.raises(ModelVersionNotFoundError, match="404"):
        registry.activate(404, activated_by="mallory")

    assert registry.active() == state
    assert len(registry.activations()) == 1


def test_activate_unknown_version_on_a_new_registry_leaves_none_active(
    registry: Registry,
) -> None:
    with pytest.raises(ModelVersionNotFoundError):
        registry.activate(1, activated_by="mallory")

    assert registry.active() is None
    assert registry.activations() == []


def test_delete_of_the_active_version_is_refused(registry: Registry, train: Trainer) -> None:
    version = registry.register(train(), created_by="test")
    registry.activate(version.version, activated_by="test")

    with pytest.raises(VersionInUseError, match="active"):
        registry.delete(version.version)

    assert registry.get(version.version) == dataclasses.replace(version, active=True)
    assert _file(registry, version).is_file()


def test_delete_of_another_version_removes_its_row_and_file(
    registry: Registry, train: Trainer
) -> None:
    active = registry.register(train(), created_by="test")
    other = registry.register(train(), created_by="test")
    registry.activate(active.version, activated_by="test")

    registry.delete(other.version)

    with pytest.raises(ModelVersionNotFoundError):
        registry.get(other.version)
    assert not _file(registry, other).exists()
    assert _file(registry, active).is_file()
    assert registry.page().total == 1


def test_delete_of_unknown_version_raises_not_found(registry: Registry) -> None:
    with pytest.raises(ModelVersionNotFoundError):
        registry.delete(5)


def test_load_returns_the_registered_model(registry: Registry, train: Trainer) -> None:
    classifier = train()
    version = registry.register(classifier, created_by="test")

    record, loaded = registry.load(version.version, test_size=0.3)

    assert record == version
    assert loaded.checksum == version.checksum
    assert loaded.test_size == 0.3
    assert loaded.predict([SETOSA_ROW]) == classifier.predict([SETOSA_ROW])


def test_load_refuses_a_truncated_file(registry: Registry, train: Trainer) -> None:
    version = registry.register(train(), created_by="test")
    path = _file(registry, version)
    path.write_bytes(path.read_bytes()[:-100])

    with pytest.raises(ModelFileError, match="damaged"):
        registry.load(version.version)


def test_load_refuses_a_valid_model_file_swapped_in_for_another(
    registry: Registry, train: Trainer
) -> None:
    version = registry.register(train(), created_by="test")
    # A perfectly loadable model, but not the one registered under this checksum.
    _file(registry, version).write_bytes(train().to_bytes())

    with pytest.raises(ModelFileError, match=version.checksum):
        registry.load(version.version)


def test_bootstrap_activates_the_bundled_model_as_version_1(registry: Registry) -> None:
    state = registry.bootstrap()

    version = registry.get(state.version)
    assert (state.version, state.generation) == (1, 1)
    assert version.checksum == sha256_hex(bundled_model_bytes())
    assert version.created_by == "mlapi (bundled model)"
    assert [a.activated_by for a in registry.activations()] == ["mlapi (first start)"]


def test_bootstrap_twice_changes_nothing(registry: Registry) -> None:
    first = registry.bootstrap()
    second = registry.bootstrap()

    assert second == first
    assert registry.page().total == 1
    assert len(registry.activations()) == 1


def test_bootstrap_keeps_an_existing_activation(registry: Registry, train: Trainer) -> None:
    version = registry.register(train(), created_by="test")
    state = registry.activate(version.version, activated_by="test")

    assert registry.bootstrap() == state
    assert registry.page().total == 1


def test_bootstrap_from_several_threads_activates_one_bundled_version(
    engine: Engine, store: ModelStore
) -> None:
    registries = [Registry(engine, store) for _ in range(6)]
    barrier = threading.Barrier(len(registries))
    states: list[object] = []
    errors: list[BaseException] = []

    def run(registry: Registry) -> None:
        barrier.wait()
        try:
            states.append(registry.bootstrap())
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(registry,)) for registry in registries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    registry = registries[0]
    active = registry.active()
    assert active is not None
    assert states == [active] * len(registries)
    assert registry.page().total == 1
    assert len(registry.activations()) == 1


# Trusted types: recorded when a version is registered, never read from the file loaded


def _hist_gradient_boosting() -> IrisClassifier:
    classifier = IrisClassifier()
    data = classifier.dataset()
    classifier.train(data["X"], data["y"], algorithm="hist_gradient_boosting", max_iter=10)
    return classifier


def _recorded_types(engine: Engine, version: int) -> list[str]:
    with Session(engine) as session:
        row = session.get(ModelVersionRow, version)
        assert row is not None
        return list(row.trusted_types)


def test_a_new_estimator_registers_and_loads_with_the_types_of_its_own_file(
    registry: Registry, engine: Engine
) -> None:
    classifier = _hist_gradient_boosting()

    version = registry.register(classifier, created_by="test")
    _, loaded = registry.load(version.version)

    assert _recorded_types(engine, version.version) == classifier.trusted_types
    assert classifier.trusted_types == [
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    ]
    assert loaded.predict([SETOSA_ROW]) == classifier.predict([SETOSA_ROW])


def test_a_model_whose_file_does_not_load_back_is_not_registered(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    classifier = _hist_gradient_boosting()
    # As if the types of its file had been recorded wrongly: serving could not load it.
    monkeypatch.setattr(IrisClassifier, "trusted_types", property(lambda self: []))

    with pytest.raises(ModelFileError, match="TreePredictor"):
        registry.register(classifier, created_by="test")

    assert registry.page().total == 0
    assert not Path(registry.store.path_for(sha256_hex(classifier.to_bytes()))).exists()


def test_load_trusts_the_types_recorded_for_the_version_only(
    registry: Registry, engine: Engine
) -> None:
    version = registry.register(_hist_gradient_boosting(), created_by="test")
    with Session(engine) as session, session.begin():
        session.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.version == version.version)
            .values(trusted_types=["sklearn.tree._tree.Tree"])
        )

    with pytest.raises(ModelFileError, match=r"untrusted types, refused: .*TreePredictor"):
        registry.load(version.version)


def test_a_row_tampered_to_trust_a_dangerous_type_is_refused_before_loading(
    registry: Registry, engine: Engine, train: Trainer
) -> None:
    version = registry.register(train(), created_by="test")
    with Session(engine) as session, session.begin():
        session.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.version == version.version)
            .values(trusted_types=["sklearn.tree._tree.Tree", "builtins.eval"])
        )

    with pytest.raises(ModelFileError, match=r"never trusts: builtins\.eval"):
        registry.load(version.version)


def _record_libraries(engine: Engine, version: ModelVersion, libraries: object) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.version == version.version)
            .values(libraries=libraries)
        )


def test_register_records_the_library_versions_that_made_the_model(
    registry: Registry, train: Trainer
) -> None:
    classifier = train()

    version = registry.register(classifier, created_by="test")

    assert classifier.metadata is not None
    assert version.libraries == classifier.metadata.libraries == library_versions()
    assert registry.get(version.version).libraries == library_versions()


def test_bootstrap_records_the_libraries_the_bundled_model_names(registry: Registry) -> None:
    registry.bootstrap()

    bundled = IrisClassifier.from_bytes(bundled_model_bytes(), library_mismatch=None).metadata
    assert bundled is not None
    assert registry.get(1).libraries == bundled.libraries is not None


def test_a_version_recorded_with_other_libraries_is_refused_in_refuse_mode(
    engine: Engine, store: ModelStore, train: Trainer
) -> None:
    registry = Registry(engine, store, LibraryMismatch.REFUSE)
    version = registry.register(train(), created_by="test")
    _record_libraries(engine, version, {**library_versions(), "scikit-learn": "1.0.2"})

    refused = rf"model version {version.version} was made by other library versions: "
    with pytest.raises(ModelFileError, match=refused + r"scikit-learn 1\.0\.2"):
        registry.load(version.version)
    with pytest.raises(ModelFileError, match=refused):
        registry.verify(version.version)


def test_a_version_recorded_with_other_libraries_loads_with_a_warning_in_warn_mode(
    registry: Registry, engine: Engine, train: Trainer, caplog: pytest.LogCaptureFixture
) -> None:
    version = registry.register(train(), created_by="test")
    _record_libraries(engine, version, {**library_versions(), "numpy": "1.26.4"})

    with caplog.at_level(logging.WARNING, logger="mlapi.ml.provenance"):
        _, loaded = registry.load(version.version)

    assert loaded.predict([SETOSA_ROW])["prediction"] == [0]
    assert f"model version {version.version} was made by other library versions" in caplog.text
    assert "numpy 1.26.4" in caplog.text


def test_the_registry_record_of_libraries_is_compared_not_the_file_own(
    engine: Engine, store: ModelStore, train: Trainer, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry(engine, store, LibraryMismatch.REFUSE)
    classifier = train()
    assert classifier.metadata is not None
    claims = dataclasses.replace(classifier.metadata, libraries={"scikit-learn": "0.1"})
    data = persistence.dumps(classifier.estimator, claims.to_dict())
    version = registry.register(IrisClassifier.from_bytes(data, library_mismatch=None), "test")
    _record_libraries(engine, version, library_versions())

    with caplog.at_level(logging.WARNING, logger="mlapi.ml.provenance"):
        _, loaded = registry.load(version.version)

    assert loaded.metadata is not None
    assert loaded.metadata.libraries == {"scikit-learn": "0.1"}
    assert caplog.text == ""


def test_a_version_registered_before_libraries_were_recorded_warns_or_is_refused(
    engine: Engine, store: ModelStore, train: Trainer, caplog: pytest.LogCaptureFixture
) -> None:
    version = Registry(engine, store).register(train(), created_by="test")
    _record_libraries(engine, version, None)

    with caplog.at_level(logging.WARNING, logger="mlapi.ml.provenance"):
        Registry(engine, store, LibraryMismatch.WARN).load(version.version)
    with pytest.raises(ModelFileError, match="no record of the library versions"):
        Registry(engine, store, LibraryMismatch.REFUSE).load(version.version)

    assert f"model version {version.version} has no record of the library" in caplog.text


def _stored_card(registry: Registry, version: int) -> str | None:
    with Session(registry.engine) as session:
        row = session.get(ModelVersionRow, version)
        assert row is not None
        return row.card


def test_register_writes_the_version_s_card_in_its_row(registry: Registry, train: Trainer) -> None:
    registry.register(train(), created_by="alice")
    version = registry.register(train(max_depth=2), created_by="bob").version

    stored = _stored_card(registry, version)

    assert stored is not None
    assert stored.startswith(f"# Model card of version {version}\n")
    assert "by bob on" in stored
    assert "(test size 0.20)" in stored  # the training rows came from the model's metadata
    assert re.search(r"\|\s+max\\_depth\s+\|\s+2\s+\|", stored)
    assert registry.card(version) == stored


def test_a_version_whose_card_cannot_be_written_is_not_registered(
    registry: Registry, train: Trainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(version: ModelVersion, training_rows: int | None = None) -> str:
        raise RuntimeError("no card")

    monkeypatch.setattr("mlapi.serving.registry.model_card", refuse)

    with pytest.raises(RuntimeError, match="no card"):
        registry.register(train(), created_by="alice")
    assert registry.page().total == 0


def test_card_of_a_version_without_one_is_made_from_its_row_and_not_saved(
    registry: Registry, train: Trainer
) -> None:
    version = registry.register(train(), created_by="alice").version
    with Session(registry.engine) as session, session.begin():
        session.execute(
            update(ModelVersionRow).where(ModelVersionRow.version == version).values(card=None)
        )

    card = registry.card(version)

    assert card.startswith(f"# Model card of version {version}\n")
    assert "by alice on" in card
    assert "test size" not in card  # only the model file knows its training rows
    assert _stored_card(registry, version) is None


def test_card_of_unknown_version_raises_not_found(registry: Registry) -> None:
    with pytest.raises(ModelVersionNotFoundError):
        registry.card(42)


def test_the_bundled_model_s_card_is_written_at_bootstrap(registry: Registry) -> None:
    registry.bootstrap()

    markdown = registry.card(1)

    assert "by mlapi (bundled model) on" in markdown
    assert "data set iris, trained with Decision tree" in markdown
