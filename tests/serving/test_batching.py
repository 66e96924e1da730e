"""Adaptive micro-batching: one model call for what queued together, each caller its own rows."""

import asyncio
from typing import Any

import numpy as np
import pytest

from mlapi.ml import IrisClassifier
from mlapi.serving.prediction import Predictor
from mlapi.settings import Settings


@pytest.fixture(scope="module")
def classifier() -> IrisClassifier:
    return IrisClassifier.load()


def _rows(count: int, seed: int = 0) -> np.ndarray:
    """Distinct rows over the Iris measurements' ranges."""
    generator = np.random.default_rng(seed)
    low, high = np.array([4.3, 2.0, 1.0, 0.1]), np.array([7.9, 4.4, 6.9, 2.5])
    return np.round(generator.uniform(low, high, size=(count, 4)), 3)


def _concurrently(predictor: Predictor, *calls: tuple[Any, np.ndarray]) -> list[Any]:
    async def main() -> list[Any]:
        return await asyncio.gather(
            *(predictor.predict_matrix(model, matrix) for model, matrix in calls),
            return_exceptions=True,
        )

    return asyncio.run(main())


def test_concurrent_requests_share_model_calls_and_each_gets_its_own_rows(
    classifier: IrisClassifier,
) -> None:
    rows = _rows(300)
    # Requests of 1 to 3 rows, so answers are split at uneven bounds.
    sizes = [1 + index % 3 for index in range(150)]
    bounds = np.cumsum(sizes)[:-1]
    requests = np.split(rows[: sum(sizes)], bounds)
    predictor = Predictor(Settings(batch_max_rows=64))

    answers = _concurrently(predictor, *((classifier, matrix) for matrix in requests))

    assert predictor.requests == 150
    assert predictor.calls < 150 / 4, "concurrent requests were not batched"
    for matrix, (probability, prediction) in zip(requests, answers, strict=True):
        alone, classes = classifier.predict_arrays(matrix)
        assert probability.tolist() == alone.tolist()
        assert prediction.tolist() == classes.tolist()


def test_no_batch_is_larger_than_the_bound_and_large_requests_go_alone(
    classifier: IrisClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    real = classifier.predict_arrays

    def counting(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sizes.append(len(matrix))
        return real(matrix)

    monkeypatch.setattr(classifier, "predict_arrays", counting)
    predictor = Predictor(Settings(batch_max_rows=10))
    small = [(classifier, _rows(3, seed)) for seed in range(20)]
    large = (classifier, _rows(25, 99))

    answers = _concurrently(predictor, *small, large)

    assert max(sizes) == 25
    assert sizes.count(25) == 1
    assert all(size <= 9 for size in sizes if size != 25)  # three requests of 3 at most
    assert len(answers[-1][0]) == 25


def test_a_request_that_breaks_the_shared_call_fails_alone(classifier: IrisClassifier) -> None:
    predictor = Predictor(Settings())
    good = [(classifier, _rows(2, seed)) for seed in range(5)]
    bad = (classifier, np.ones((1, 7)))  # wrong width: scikit-learn refuses the whole batch

    answers = _concurrently(predictor, *good[:2], bad, *good[2:])

    assert isinstance(answers[2], ValueError)
    for (_, matrix), answer in zip(good, answers[:2] + answers[3:], strict=True):
        assert not isinstance(answer, BaseException)
        assert answer[0].tolist() == classifier.predict_arrays(matrix)[0].tolist()


def test_requests_to_different_models_are_not_mixed(classifier: IrisClassifier) -> None:
    other = IrisClassifier.load()  # the same file, another model object
    predictor = Predictor(Settings())
    calls = [(classifier if index % 2 else other, _rows(1, index)) for index in range(20)]

    answers = _concurrently(predictor, *calls)

    assert predictor.calls == 2  # one per model
    for (_, matrix), (probability, _) in zip(calls, answers, strict=True):
        assert probability.tolist() == classifier.predict_arrays(matrix)[0].tolist()


def test_a_lone_request_is_answered_without_waiting_for_company(
    classifier: IrisClassifier,
) -> None:
    predictor = Predictor(Settings())

    async def lone() -> int:
        loop = asyncio.get_running_loop()
        turns = 0

        def count() -> None:
            nonlocal turns
            turns += 1
            loop.call_soon(count)

        loop.call_soon(count)
        await predictor.predict_matrix(classifier, _rows(1))
        return turns

    # The loop turned a handful of times (one to start the batch, one to wake the
    # caller): no timer, no wait for other requests.
    assert asyncio.run(lone()) <= 4


def test_with_batching_off_every_request_is_its_own_call(classifier: IrisClassifier) -> None:
    predictor = Predictor(Settings(batching=False))

    _concurrently(predictor, *((classifier, _rows(1, seed)) for seed in range(10)))

    assert predictor.calls == 10
