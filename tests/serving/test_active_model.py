"""ActiveModel: loading, serving, retraining and swapping the model under load."""

import asyncio
import itertools
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from mlapi.ml import InvalidInputError, IrisClassifier, persistence
from mlapi.ml.errors import FieldError
from mlapi.serving.active_model import (
    INLINE_PREDICT_ROWS,
    ActiveModel,
    ModelNotReadyError,
    PredictionResult,
    train_on_dataset,
)
from mlapi.settings import Settings

SETOSA_ROW = [5.1, 3.5, 1.4, 0.2]
FAST_BOOSTING = {"n_estimators": 5}


@pytest.fixture(scope="module")
def bundled_checksum() -> str:
    checksum = IrisClassifier.load().checksum
    assert checksum is not None
    return checksum


@pytest.fixture
def active(settings: Settings) -> ActiveModel:
    model = ActiveModel(settings)
    model.load()
    return model


def _rows(count: int) -> list[list[float]]:
    iris = IrisClassifier.dataset()["X"].tolist()
    return [iris[index % len(iris)] for index in range(count)]


def test_model_is_not_ready_before_load(settings: Settings) -> None:
    model = ActiveModel(settings)

    assert model.ready is False
    with pytest.raises(ModelNotReadyError):
        _ = model.classifier


def test_predict_before_load_raises_model_not_ready(settings: Settings) -> None:
    with pytest.raises(ModelNotReadyError):
        asyncio.run(ActiveModel(settings).predict([SETOSA_ROW]))


def test_load_without_active_file_serves_bundled_model(
    settings: Settings, bundled_checksum: str
) -> None:
    model = ActiveModel(settings)

    classifier = model.load()

    assert model.ready is True
    assert model.classifier is classifier
    assert classifier.checksum == bundled_checksum
    assert not settings.active_model_path.exists()


def test_load_applies_settings_to_the_classifier(tmp_path: Path) -> None:
    settings = Settings(model_dir=tmp_path / "models", cache_dir=tmp_path / "dl", test_size=0.3)

    classifier = ActiveModel(settings).load()

    assert classifier.cache_dir == tmp_path / "dl"
    assert classifier.test_size == 0.3


def test_retrain_saves_active_file_and_swaps_model(
    active: ActiveModel, settings: Settings, bundled_checksum: str
) -> None:
    before = active.classifier

    after = active.retrain(gradient_boosting=True, hyperparameters=FAST_BOOSTING)

    assert active.classifier is after
    assert after is not before
    assert after.version != before.version
    assert after.checksum != bundled_checksum
    assert after.metadata is not None
    assert after.metadata.algorithm == "gradient_boosting"
    assert after.estimator.n_estimators == 5
    assert settings.active_model_path.is_file()
    assert IrisClassifier.load(settings.active_model_path).checksum == after.checksum


def test_retrained_model_is_served_after_restart(active: ActiveModel, settings: Settings) -> None:
    trained = active.retrain(algorithm="decision_tree", hyperparameters={"max_depth": 2})

    restarted = ActiveModel(settings).load()

    assert restarted.checksum == trained.checksum
    assert restarted.metadata == trained.metadata


def test_retrain_uses_configured_hyperparameters(tmp_path: Path) -> None:
    settings = Settings(
        model_dir=tmp_path / "models",
        hyperparameters={"gradient_boosting": {"n_estimators": 4}},
    )
    model = ActiveModel(settings)

    classifier = model.retrain(gradient_boosting=True)

    assert classifier.estimator.n_estimators == 4


def test_retrain_with_invalid_hyperparameter_keeps_serving_the_old_model(
    active: ActiveModel, settings: Settings
) -> None:
    before = active.classifier

    with pytest.raises(InvalidInputError) as caught:
        active.retrain(hyperparameters={"max_depth": 0})

    assert [error.location for error in caught.value.errors] == [("hyperparameters", "max_depth")]
    assert active.classifier is before
    assert not settings.active_model_path.exists()


def test_corrupt_active_file_falls_back_to_bundled_model(
    settings: Settings, bundled_checksum: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings.active_model_path.parent.mkdir(parents=True)
    settings.active_model_path.write_bytes(b"PK\x03\x04 not really a model")

    classifier = ActiveModel(settings).load()

    assert classifier.checksum == bundled_checksum
    assert "refusing model file" in caplog.text


def test_truncated_active_file_falls_back_to_bundled_model(
    active: ActiveModel, settings: Settings, bundled_checksum: str
) -> None:
    active.retrain()
    data = settings.active_model_path.read_bytes()
    settings.active_model_path.write_bytes(data[: len(data) // 3])

    assert ActiveModel(settings).load().checksum == bundled_checksum


def test_predict_returns_prediction_result_of_serving_model(active: ActiveModel) -> None:
    result = asyncio.run(active.predict([SETOSA_ROW, [6.7, 3.0, 5.2, 2.3]]))

    assert isinstance(result, PredictionResult)
    assert result.classifier is active.classifier
    assert result.prediction.tolist() == [0, 2]
    assert result.probability.tolist()[0] == [1.0, 0.0, 0.0]
    assert result.classifier.labels(result.prediction.tolist()) == ["setosa", "virginica"]


def test_predict_rejects_too_many_rows_naming_data(tmp_path: Path) -> None:
    model = ActiveModel(Settings(model_dir=tmp_path / "models", max_rows_per_request=2))
    model.load()

    assert len(asyncio.run(model.predict(_rows(2))).prediction) == 2
    with pytest.raises(InvalidInputError) as caught:
        asyncio.run(model.predict(_rows(3)))

    assert caught.value.errors == [
        FieldError(("data",), "must have at most 2 rows", "too_many_rows")
    ]


def test_predict_rejects_bad_row_naming_the_cell(active: ActiveModel) -> None:
    with pytest.raises(InvalidInputError) as caught:
        asyncio.run(active.predict([SETOSA_ROW, [5.1, float("nan"), 1.4, 0.2]]))

    assert [error.location for error in caught.value.errors] == [("data", 1, 1)]


def test_large_batch_runs_in_a_thread_and_matches_inline_result(active: ActiveModel) -> None:
    classifier = active.classifier
    threads: list[tuple[int, int]] = []
    original = classifier.predict_arrays

    def recording(rows: np.ndarray) -> Any:
        threads.append((len(rows), threading.get_ident()))
        return original(rows)

    classifier.predict_arrays = recording  # type: ignore[method-assign]
    rows = _rows(INLINE_PREDICT_ROWS + 44)

    async def both() -> tuple[int, PredictionResult, PredictionResult]:
        loop_thread = threading.get_ident()
        small = await active.predict(rows[:INLINE_PREDICT_ROWS])
        large = await active.predict(rows)
        return loop_thread, small, large

    loop_thread, small, large = asyncio.run(both())

    assert threads[0] == (INLINE_PREDICT_ROWS, loop_thread)
    assert threads[1][0] == len(rows)
    assert threads[1][1] != loop_thread
    expected = classifier.predict(rows)
    assert large.prediction.tolist() == expected["prediction"]
    assert large.probability.tolist() == expected["probability"]
    assert small.probability.tolist() == expected["probability"][:INLINE_PREDICT_ROWS]


def test_train_on_dataset_returns_unsaved_classifier(settings: Settings) -> None:
    classifier = train_on_dataset(settings, algorithm="decision_tree")

    assert classifier.checksum is None
    assert classifier.metadata is not None
    assert classifier.metadata.class_names == ["setosa", "versicolor", "virginica"]
    assert not settings.active_model_path.exists()


def test_concurrent_retrains_and_predictions_stay_consistent(
    active: ActiveModel, settings: Settings
) -> None:
    initial = active.classifier.version
    errors: list[BaseException] = []
    probabilities: list[list[float]] = []
    versions: set[str | None] = set()
    record = threading.Lock()
    training_done = threading.Event()
    # Trainers start once every predictor has been answered by the loaded model.
    started = threading.Barrier(6, timeout=30)

    def retrain(worker: int) -> None:
        try:
            started.wait()
            for round_ in range(3):
                if (worker + round_) % 2:
                    active.retrain(gradient_boosting=True, hyperparameters=FAST_BOOSTING)
                else:
                    active.retrain(hyperparameters={"max_depth": 1 + round_})
        except BaseException as error:
            errors.append(error)

    def predict(size: int) -> None:
        rows = _rows(size)
        try:
            for call in itertools.count():
                finished = training_done.is_set()
                result = asyncio.run(active.predict(rows))
                with record:
                    probabilities.extend(result.probability.tolist())
                    versions.add(result.classifier.version)
                if call == 0:
                    started.wait()
                if finished:
                    return
        except BaseException as error:
            errors.append(error)

    trainers = [threading.Thread(target=retrain, args=(worker,)) for worker in range(3)]
    predictors = [
        threading.Thread(target=predict, args=(size,)) for size in (1, 7, INLINE_PREDICT_ROWS + 10)
    ]
    for thread in predictors + trainers:
        thread.start()
    for thread in trainers:
        thread.join(60)
    training_done.set()
    for thread in predictors:
        thread.join(60)

    assert errors == []
    assert not any(thread.is_alive() for thread in trainers + predictors)
    assert probabilities
    assert all(math.isclose(sum(row), 1.0, abs_tol=1e-9) for row in probabilities)
    # The first answers came from the bundled model, the last from the final one.
    assert initial in versions
    assert active.classifier.version in versions
    assert len(versions) >= 2
    on_disk = IrisClassifier.load(settings.active_model_path)
    assert on_disk.checksum == active.classifier.checksum
    assert on_disk.predict(_rows(5)) == active.classifier.predict(_rows(5))


def test_active_file_with_unfitted_estimator_falls_back_to_bundled_model(
    settings: Settings, bundled_checksum: str
) -> None:
    metadata = train_on_dataset(settings).metadata
    assert metadata is not None
    settings.active_model_path.parent.mkdir(parents=True)
    settings.active_model_path.write_bytes(
        persistence.dumps(DecisionTreeClassifier(), metadata.to_dict())
    )

    assert ActiveModel(settings).load().checksum == bundled_checksum
