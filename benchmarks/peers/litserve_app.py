"""A LitServe server for an mlapi model file, with or without LitServe's batching.

Usage: ``python -m benchmarks.peers.litserve_app MODEL PORT [--max-batch-size N]
[--batch-timeout SECONDS]``. ``POST /predict`` takes ``{"data": [[5.1, 3.5, 1.4, 0.2]]}``
and answers ``{"prediction": [...], "probability": [[...]]}`` like mlapi. LitServe
always runs the model in an inference worker process apart from the HTTP server's
process; here there is one of each (``workers_per_device=1``, ``num_api_servers=1``),
with LitServe's default queues between them, and no access log. With
``--max-batch-size`` above 1, LitServe collects up to that many requests, waiting at
most ``--batch-timeout`` seconds, and hands them to one ``predict`` call.
"""

import argparse
import os
from typing import Any

import litserve as ls
import numpy as np
from fastapi import HTTPException

from benchmarks.peers.estimator import load_estimator, predict


class IrisAPI(ls.LitAPI):
    """Class probabilities of the request's rows: one request, one model call."""

    def setup(self, device: str) -> None:
        """Read the model named by ``PEER_MODEL``.

        Args:
            device: LitServe's device (``cpu``).
        """
        self.estimator = load_estimator(os.environ["PEER_MODEL"])

    def decode_request(self, request: dict[str, Any], **kwargs: Any) -> np.ndarray:
        """The request's rows as a float matrix.

        Args:
            request: The JSON body.
            **kwargs: LitServe's extra arguments.

        Returns:
            The ``[rows, 4]`` matrix.

        Raises:
            HTTPException: 422 unless ``data`` is a list of rows of four numbers.
        """
        try:
            rows = np.asarray(request["data"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise HTTPException(422, "data must be a list of rows of 4 numbers") from error
        if rows.ndim != 2 or rows.shape[1] != 4 or not len(rows):
            raise HTTPException(422, "data must be a list of rows of 4 numbers")
        return rows

    def predict(self, x: np.ndarray, **kwargs: Any) -> Any:
        """Run the model on one request's rows.

        Args:
            x: The request's matrix.
            **kwargs: LitServe's extra arguments.

        Returns:
            Probabilities and predicted classes.
        """
        return predict(self.estimator, x)

    def encode_response(self, output: Any, **kwargs: Any) -> dict[str, Any]:
        """mlapi's answer.

        Args:
            output: Probabilities and predicted classes of one request's rows.
            **kwargs: LitServe's extra arguments.

        Returns:
            ``{"prediction": [...], "probability": [[...]]}``.
        """
        probability, prediction = output
        return {"prediction": prediction.tolist(), "probability": probability.tolist()}


class BatchedIrisAPI(IrisAPI):
    """The same answers, the requests LitServe collected run as one model call."""

    def batch(self, inputs: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
        """Stack the requests' rows, remembering how many each brought.

        Args:
            inputs: One matrix per request.

        Returns:
            The stacked rows and each request's row count.
        """
        return np.concatenate(inputs), [len(rows) for rows in inputs]

    def predict(self, x: Any, **kwargs: Any) -> Any:
        """Run the model once on a batch.

        Args:
            x: The stacked rows and the requests' row counts.
            **kwargs: LitServe's extra arguments.

        Returns:
            The batch's probabilities, predicted classes and the row counts.
        """
        rows, sizes = x
        probability, prediction = predict(self.estimator, rows)
        return probability, prediction, sizes

    def unbatch(self, output: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Split a batch's answers back into the requests' answers.

        Args:
            output: The batch's probabilities, predicted classes and row counts.

        Returns:
            One (probabilities, predicted classes) pair per request, in order.
        """
        probability, prediction, sizes = output
        bounds = np.cumsum(sizes)[:-1]
        return list(zip(np.split(probability, bounds), np.split(prediction, bounds), strict=True))


def main() -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("port", type=int)
    parser.add_argument("--max-batch-size", type=int, default=1)
    parser.add_argument("--batch-timeout", type=float, default=0.0)
    options = parser.parse_args()
    os.environ["PEER_MODEL"] = options.model
    kind = BatchedIrisAPI if options.max_batch_size > 1 else IrisAPI
    api = kind(max_batch_size=options.max_batch_size, batch_timeout=options.batch_timeout)
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1)
    server.run(
        host="127.0.0.1",
        port=options.port,
        num_api_servers=1,
        generate_client_file=False,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
