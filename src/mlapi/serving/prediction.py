"""Predicting rows with a served model: batched across requests, off the event loop when slow.

**Adaptive micro-batching.** Requests to the same model are answered together: a batch
is whatever queued while the previous batch ran, answered by one model call, and never
waits for company. The first request to arrive with nothing running schedules the batch
for the event loop's next turn (no timer), so every request that became ready in the
same turn joins it; a lone request goes at once. A scikit-learn call costs a fixed
hundreds of microseconds whatever the rows, so 64 single-row requests cost one call
instead of 64. Each request's rows are checked before they join a batch, so one
caller's bad rows never reach another's; each caller gets its own rows' answers, in
order. Requests of more rows than a batch holds go alone.

**Off the event loop when slow.** A model call that takes more than
:data:`INLINE_BUDGET_SECONDS` (a scikit-learn pipeline, a large batch, a big ensemble)
runs in a thread, so other requests keep being read meanwhile; quick ones run on the
event loop itself, cheaper than the hand-off. How long a model's calls take is measured
as it serves, per model.

Calls run on one OpenMP thread while serving: a server's parallelism is its concurrent
requests and worker processes, and OpenMP threads spinning against them made a histogram
gradient boosting model ten times slower per row on a busy host.
"""

import asyncio
import functools
import gc
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from anyio import to_thread
from threadpoolctl import ThreadpoolController

from mlapi.metrics import Metrics
from mlapi.ml import IrisClassifier
from mlapi.ml.errors import FieldError, Input, InvalidInputError
from mlapi.serving.active_model import ServedModel
from mlapi.serving.records import ArrayPredictions, Predictions
from mlapi.settings import Settings

#: Largest batch that may run on the event loop itself; larger ones run in a thread.
INLINE_PREDICT_ROWS = 256

#: A model call expected to take longer than this runs in a thread. A thread holding the
#: GIL keeps the event loop waiting up to Python's switch interval (5 ms) anyway, so a
#: call shorter than that gains nothing from the hand-off but its cost.
INLINE_BUDGET_SECONDS = 0.005

#: Weight of the newest call in a model's running mean call time.
_SMOOTHING = 0.2

Arrays = tuple[np.ndarray, np.ndarray]


@dataclass(eq=False)
class _Request:
    """One caller's rows, waiting in the queue for its batch."""

    classifier: IrisClassifier
    matrix: np.ndarray
    answer: asyncio.Future[Arrays] = field(repr=False)


class Predictor:
    """Predicts rows with whichever served model it is given, batching concurrent callers.

    Args:
        settings: Whether to batch (``batching``), the most rows of a batch
            (``batch_max_rows``; a request of more goes alone) and of a request.
        metrics: Where each model call's batch size and predicted classes are counted.
    """

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        # The process's OpenMP pools, read once: limiting them for one call is then cheap.
        self._thread_pools = ThreadpoolController()
        self.batching = settings.batching
        self.max_batch_rows = settings.batch_max_rows
        self.max_rows = settings.max_rows_per_request
        self._metrics = metrics or Metrics()
        self._queue: list[_Request] = []
        self._draining = False
        self._drainer: asyncio.Task[None] | None = None
        self._call_seconds: weakref.WeakKeyDictionary[IrisClassifier, float] = (
            weakref.WeakKeyDictionary()
        )
        #: How many model calls answered how many requests (for tests and metrics).
        self.calls = 0
        self.requests = 0

    def one_thread(self) -> Any:
        """Limit OpenMP to one thread in the calling thread, until the limit is restored.

        Returns:
            The limiter; its ``restore_original_limits()`` gives the threads back.
        """
        return self._thread_pools.limit(limits=1, user_api="openmp")

    async def predict(self, served: ServedModel, rows: Sequence[Any]) -> Predictions:
        """Check rows and predict the class, class probabilities and class name of each.

        Args:
            served: The model to ask, as the service picked it.
            rows: Rows of features, one value per feature of the model.

        Returns:
            The predictions and the version that made them.

        Raises:
            InvalidInputError: If there are too many rows, or a row does not fit the
                model (naming each row and column at fault).
        """
        if len(rows) > self.max_rows:
            message = f"must have at most {self.max_rows} rows"
            error = FieldError(Input.ROWS, (), message, "too_many_rows")
            raise InvalidInputError("too many rows", [error])
        classifier = served.classifier
        probability, prediction = await self.predict_matrix(
            classifier, classifier.validate_rows(rows)
        )
        classes = prediction.tolist()
        return Predictions(
            prediction=classes,
            probability=probability.tolist(),
            labels=classifier.labels(classes),
            model_version=served.version.version,
        )

    async def predict_numbers(
        self, served: ServedModel, matrix: np.ndarray, *, labels: bool = False
    ) -> ArrayPredictions | None:
        """Predict a float matrix checked to be finite numbers in range, if the model takes one.

        Returns:
            The predictions as arrays (with the class names if ``labels``); None for too
            many rows, rows of the wrong width, or a model that takes text or missing values.
        """
        classifier = served.classifier
        if len(matrix) > self.max_rows or classifier.typed:
            return None
        if matrix.shape[1] != classifier.n_features:
            return None
        probability, prediction = await self.predict_matrix(classifier, matrix)
        names = classifier.labels(prediction.tolist()) if labels else None
        return ArrayPredictions(prediction, probability, names, served.version.version)

    async def predict_matrix(self, classifier: IrisClassifier, matrix: np.ndarray) -> Arrays:
        """Predict rows already checked by the model's ``validate_rows``.

        Args:
            classifier: The model to ask.
            matrix: The checked rows.

        Returns:
            Class probabilities (rows x classes) and the predicted class of each row.
        """
        self.requests += 1
        if not self.batching or len(matrix) > self.max_batch_rows:
            return await self._call(classifier, matrix)
        answer: asyncio.Future[Arrays] = asyncio.get_running_loop().create_future()
        self._queue.append(_Request(classifier, matrix, answer))
        if not self._draining:
            self._draining = True
            # Not now: on the loop's next turn, once every request read in this one queued.
            asyncio.get_running_loop().call_soon(self._start_draining)
        return await answer

    def _start_draining(self) -> None:
        self._drainer = asyncio.get_running_loop().create_task(
            self._drain(), name="predict-batches"
        )

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._answer(self._next_batch())
        finally:
            self._draining = False

    def _next_batch(self) -> list[_Request]:
        """Take the oldest request and those after it for the same model, up to the bound."""
        first = self._queue[0]
        batch, rest, rows = [], [], 0
        for request in self._queue:
            fits = rows + len(request.matrix) <= self.max_batch_rows
            if request.classifier is first.classifier and fits:
                batch.append(request)
                rows += len(request.matrix)
            else:
                rest.append(request)
        self._queue = rest
        return batch

    async def _answer(self, batch: list[_Request]) -> None:
        waiting = [request for request in batch if not request.answer.done()]  # not cancelled
        if not waiting:
            return
        try:
            if len(waiting) == 1:
                answers = [await self._call(waiting[0].classifier, waiting[0].matrix)]
            else:
                matrix = np.concatenate([request.matrix for request in waiting])
                probability, prediction = await self._call(
                    waiting[0].classifier, matrix, len(waiting)
                )
                bounds = np.cumsum([len(request.matrix) for request in waiting])[:-1]
                answers = list(
                    zip(
                        np.split(probability, bounds),
                        np.split(prediction, bounds),
                        strict=True,
                    )
                )
        except Exception as error:
            if len(waiting) == 1:
                _settle(waiting[0].answer, error)
                return
            # One request's rows broke the shared call: answer each alone, so the
            # error reaches its caller only.
            for request in waiting:
                await self._answer([request])
            return
        for request, answer in zip(waiting, answers, strict=True):
            _settle(request.answer, answer)

    async def _call(
        self, classifier: IrisClassifier, matrix: np.ndarray, requests: int = 1
    ) -> Arrays:
        expected = self._call_seconds.get(classifier, 1.0 if classifier.typed else 0.0)
        if len(matrix) <= INLINE_PREDICT_ROWS and expected <= INLINE_BUDGET_SECONDS:
            result, took = self._timed(classifier, matrix)
        else:
            result, took = await to_thread.run_sync(self._in_thread, classifier, matrix)
        if len(matrix) <= INLINE_PREDICT_ROWS:  # what decides where the next small call runs
            self._call_seconds[classifier] = expected + _SMOOTHING * (took - expected)
        self.calls += 1
        self._count(classifier, result[1], requests)
        return result

    def _count(self, classifier: IrisClassifier, prediction: np.ndarray, requests: int) -> None:
        if len(prediction) == 1:  # the usual single row: no counting pass over an array
            classes: Any = ((classifier.labels([prediction[0].item()])[0], 1),)
        else:
            values, counts = np.unique(prediction, return_counts=True)
            classes = zip(classifier.labels(values.tolist()), counts.tolist(), strict=True)
        self._metrics.model_call(requests, classes)

    @staticmethod
    def _timed(classifier: IrisClassifier, matrix: np.ndarray) -> tuple[Arrays, float]:
        """Predict, and say how long the model took (not counting any wait for a thread)."""
        start = time.perf_counter()
        result = classifier.predict_arrays(matrix)
        return result, time.perf_counter() - start

    def _in_thread(self, classifier: IrisClassifier, matrix: np.ndarray) -> tuple[Arrays, float]:
        with self._thread_pools.limit(limits=1, user_api="openmp"):
            return self._timed(classifier, matrix)


@functools.cache
def freeze_start_up() -> None:
    """Put what a serving process made at start-up out of the garbage collector's sight.

    Modules, the app and the model live as long as the process; a full collection scanned
    them all, tens of milliseconds in the middle of requests. Once per process.
    """
    gc.collect()
    gc.freeze()


def _settle(answer: "asyncio.Future[Arrays]", result: Arrays | BaseException) -> None:
    if answer.done():  # its caller went away
        return
    if isinstance(result, BaseException):
        answer.set_exception(result)
    else:
        answer.set_result(result)
