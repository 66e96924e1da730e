"""BentoML services for an mlapi model file, with and without adaptive batching.

Started with ``bentoml serve benchmarks.peers.bento_service:<Service>``; the environment
names the model file (``PEER_MODEL``) and the batching limits (``PEER_MAX_BATCH_SIZE``,
``PEER_MAX_LATENCY_MS``). Every service has one worker, and neither access logs nor
Prometheus metrics, like mlapi under ``uvicorn --no-access-log``. All take
``{"data": [[5.1, 3.5, 1.4, 0.2]]}``:

- ``Classifier``: ``batchable=False``; answers ``{"prediction": [...], "probability":
  [[...]]}`` like mlapi.
- ``BatchedClassifier``: ``batchable=True``. BentoML stacks the queued requests' rows
  and splits the function's result, which must therefore be an array or a list along
  the rows: the answer is one ``{"prediction": p, "probability": [...]}`` per row.
- ``ComposedClassifier``: mlapi's answer with batching, the way BentoML's documentation
  composes pre- and post-processing around a batched model: a front service (its own
  worker process) calls ``Model``'s batchable ``predict_proba`` over BentoML's
  inter-service HTTP.
"""

import os
from typing import Annotated, Any

import bentoml
import numpy as np
from bentoml.validators import DType, Shape

from benchmarks.peers.estimator import load_estimator, predict

MODEL = os.environ.get("PEER_MODEL", "")
MAX_BATCH_SIZE = int(os.environ.get("PEER_MAX_BATCH_SIZE", "64"))
MAX_LATENCY_MS = int(os.environ.get("PEER_MAX_LATENCY_MS", "60000"))
#: One worker process, no access log, no metrics.
CONFIG: dict[str, Any] = {
    "workers": 1,
    "metrics": {"enabled": False},
    "logging": {"access": {"enabled": False}},
}
BATCHING: dict[str, Any] = {
    "batchable": True,
    "batch_dim": 0,
    "max_batch_size": MAX_BATCH_SIZE,
    "max_latency_ms": MAX_LATENCY_MS,
}

Rows = Annotated[np.ndarray, Shape((-1, 4)), DType("float64")]


@bentoml.service(**CONFIG)
class Classifier:
    """One request, one model call."""

    def __init__(self) -> None:
        self.estimator = load_estimator(MODEL)

    @bentoml.api
    def predict(self, data: Rows) -> dict[str, Any]:
        """Predicted classes and class probabilities of the request's rows.

        Args:
            data: Feature rows.

        Returns:
            ``{"prediction": [...], "probability": [[...]]}``.
        """
        probability, prediction = predict(self.estimator, data)
        return {"prediction": prediction.tolist(), "probability": probability.tolist()}


@bentoml.service(**CONFIG)
class BatchedClassifier:
    """Adaptive batching in one service: one answer per row."""

    def __init__(self) -> None:
        self.estimator = load_estimator(MODEL)

    @bentoml.api(**BATCHING)
    def predict(self, data: Rows) -> list[dict[str, Any]]:
        """Answers for the rows of every request in the batch.

        Args:
            data: The batch's rows, the requests' rows stacked.

        Returns:
            One ``{"prediction": p, "probability": [...]}`` per row, in order.
        """
        probability, prediction = predict(self.estimator, data)
        return [
            {"prediction": label, "probability": row}
            for label, row in zip(prediction.tolist(), probability.tolist(), strict=True)
        ]


#: BentoML 1.4.40 replaces its client's session to a dependency every 100 requests
#: (``runner_connection.max_requests``) and closes the old one under requests still in
#: flight: they fail with "Server disconnected" (500). Never replacing it avoids that.
KEEP_SESSION: dict[str, Any] = {"runner_connection": {"max_requests": 10**12, "max_age": 1e12}}


@bentoml.service(**CONFIG, **KEEP_SESSION)
class Model:
    """The batched model behind ``ComposedClassifier``."""

    def __init__(self) -> None:
        self.estimator = load_estimator(MODEL)

    @bentoml.api(**BATCHING)
    def predict_proba(self, data: np.ndarray) -> np.ndarray:
        """Class probabilities of a batch's rows.

        Args:
            data: The batch's rows, the requests' rows stacked.

        Returns:
            One row of probabilities per input row.
        """
        probability: np.ndarray = self.estimator.predict_proba(data)
        return probability


@bentoml.service(**CONFIG)
class ComposedClassifier:
    """mlapi's answer, around ``Model``'s batched probabilities."""

    model = bentoml.depends(Model)

    def __init__(self) -> None:
        self.classes = load_estimator(MODEL).classes_

    @bentoml.api
    async def predict(self, data: Rows) -> dict[str, Any]:
        """Predicted classes and class probabilities of the request's rows.

        Args:
            data: Feature rows.

        Returns:
            ``{"prediction": [...], "probability": [[...]]}``.
        """
        probability = await self.model.to_async.predict_proba(data)
        prediction = self.classes[np.asarray(probability).argmax(axis=1)]
        return {"prediction": prediction.tolist(), "probability": np.asarray(probability).tolist()}
