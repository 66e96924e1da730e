"""Predicting a batch of rows with a served model, without stalling the event loop.

Small batches are predicted on the event loop itself (tens of microseconds, less than
handing them to a thread would cost); larger ones in a thread. Both run on one OpenMP
thread while serving: a server's parallelism is its concurrent requests and worker
processes, and OpenMP threads spinning against them made a histogram gradient boosting
model ten times slower per row on a busy host.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
from anyio import to_thread
from threadpoolctl import ThreadpoolController

from mlapi.serving.active_model import ServedModel
from mlapi.serving.records import Predictions

#: Largest batch predicted on the event loop itself; larger batches go to a thread.
INLINE_PREDICT_ROWS = 256


class Predictor:
    """Predicts batches of rows with whichever served model it is given."""

    def __init__(self) -> None:
        # The process's OpenMP pools, read once: limiting them for one call is then cheap.
        self._thread_pools = ThreadpoolController()

    def one_thread(self) -> Any:
        """Limit OpenMP to one thread in the calling thread, until the limit is restored.

        Returns:
            The limiter; its ``restore_original_limits()`` gives the threads back.
        """
        return self._thread_pools.limit(limits=1, user_api="openmp")

    async def predict(self, served: ServedModel, rows: Sequence[Any]) -> Predictions:
        """Predict the class, class probabilities and class name of each row.

        Args:
            served: The model to ask, as the service picked it.
            rows: Rows of features, one value per feature of the model.

        Returns:
            The predictions and the version that made them.

        Raises:
            InvalidInputError: If a row does not fit the model (naming each row and
                column at fault).
        """
        classifier = served.classifier
        matrix = classifier.validate_rows(rows)
        if len(matrix) <= INLINE_PREDICT_ROWS:
            probability, prediction = classifier.predict_arrays(matrix)
        else:
            probability, prediction = await to_thread.run_sync(self._in_thread, served, matrix)
        classes = prediction.tolist()
        return Predictions(
            prediction=classes,
            probability=probability.tolist(),
            labels=classifier.labels(classes),
            model_version=served.version.version,
        )

    def _in_thread(self, served: ServedModel, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self._thread_pools.limit(limits=1, user_api="openmp"):
            return served.classifier.predict_arrays(matrix)
