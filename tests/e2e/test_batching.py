"""Batching over HTTP: many callers at once, each answered with exactly its own rows."""

import asyncio
import json

import numpy as np
import pytest

from mlapi.ml import IrisClassifier
from tests.e2e.conftest import LiveServer
from tests.e2e.rawhttp import Answer, post_all_at_once

CONCURRENT = 1000


def _distinct_rows(count: int) -> list[list[float]]:
    generator = np.random.default_rng(15)
    low, high = np.array([4.3, 2.0, 1.0, 0.1]), np.array([7.9, 4.4, 6.9, 2.5])
    rows = np.round(generator.uniform(low, high, size=(count, 4)), 2)
    assert len({tuple(row) for row in rows.tolist()}) == count
    return rows.tolist()


def _all_at_once(server: LiveServer, requests: list[tuple[str, bytes]]) -> list[Answer]:
    return asyncio.run(post_all_at_once(server.url, requests))


def test_1000_concurrent_distinct_rows_each_get_the_unbatched_prediction(
    shared_server: LiveServer,
) -> None:
    rows = _distinct_rows(CONCURRENT)
    paths = ["/predict", "/v1/predict"]
    requests = [
        (paths[index % 2], json.dumps({"data": [row]}).encode()) for index, row in enumerate(rows)
    ]

    responses = _all_at_once(shared_server, requests)

    model = IrisClassifier.load()  # the bundled model the server serves, unbatched
    for row, response in zip(rows, responses, strict=True):
        assert response.status == 200, response.body
        expected = model.predict([row])
        body = json.loads(response.body)
        assert body["prediction"] == expected["prediction"], row
        assert body["probability"] == expected["probability"], row


BAD_BODIES = {
    "wrong width": (b'{"data": [[5.1, 3.5, 1.4]]}', 422, "#/data/0"),
    "text": (b'{"data": [[5.1, "x", 1.4, 0.2]]}', 422, "#/data/0/1"),
    "boolean": (b'{"data": [[5.1, 3.5, true, 0.2]]}', 422, "#/data/0/2"),
    "null": (b'{"data": [[5.1, 3.5, 1.4, null]]}', 422, "#/data/0/3"),
    "not JSON": (b'{"data": [[5.1, 3.5, 1.4, 0.2]', 400, None),
    "NaN": (b'{"data": [[NaN, 3.5, 1.4, 0.2]]}', 422, "#/data/0/0"),
}


@pytest.mark.parametrize("path", ["/predict", "/v1/predict"])
def test_a_caller_with_bad_rows_gets_its_error_and_those_batched_with_it_their_answers(
    shared_server: LiveServer, path: str
) -> None:
    rows = _distinct_rows(200)
    good = [(path, json.dumps({"data": [row, row[::-1]]}).encode()) for row in rows]
    bad = [(path, body) for body, _, _ in BAD_BODIES.values()]
    # The bad requests are spread among the good ones, so they arrive in the same batches.
    requests = [*good]
    for index, request in enumerate(bad):
        requests.insert(index * 30 + 5, request)

    responses = _all_at_once(shared_server, requests * 2)

    model = IrisClassifier.load()
    answers: dict[tuple[str, bytes], list[Answer]] = {request: [] for request in requests}
    for request, response in zip(requests * 2, responses, strict=True):
        answers[request].append(response)
    for body, status, pointer in BAD_BODIES.values():
        for response in answers[(path, body)]:
            assert response.status == status, response.body
            assert response.headers["content-type"] == "application/problem+json"
            if pointer:
                assert pointer in [
                    error["pointer"] for error in json.loads(response.body)["errors"]
                ]
    for request, row in zip(good, rows, strict=True):
        expected = model.predict([row, row[::-1]])
        for response in answers[request]:
            assert response.status == 200, response.body
            assert json.loads(response.body)["probability"] == expected["probability"]
