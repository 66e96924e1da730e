"""Predictions keep being answered, and correctly, while trainings and activations run."""

import asyncio
import bisect
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import httpx
import pytest

from mlapi.serving.database import make_engine
from mlapi.serving.registry import Registry
from mlapi.serving.store import ModelStore
from tests.e2e.conftest import LiveServer, wait_for_job
from tests.e2e.rawhttp import Connection

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


async def _predict(client: httpx.AsyncClient, index: int) -> httpx.Response:
    return await client.post("/v1/predict", json={"data": [ROWS[index % len(ROWS)]]})


async def _train(client: httpx.AsyncClient, index: int) -> httpx.Response:
    return await client.post("/train", params={"gradient_boosting": str(index % 2 == 0).lower()})


async def _storm(server: LiveServer) -> tuple[list[httpx.Response], list[httpx.Response]]:
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    async with server.async_client(limits=limits) as client:
        trainings = [asyncio.create_task(_train(client, i)) for i in range(5)]
        predictions = await asyncio.gather(*(_predict(client, i) for i in range(200)))
        return predictions, await asyncio.gather(*trainings)


def test_200_predictions_in_flight_while_5_trainings_run(server: LiveServer) -> None:
    predictions, trainings = asyncio.run(_storm(server))
    assert [response.status_code for response in trainings] == [200] * 5
    assert all(response.json() is True for response in trainings)
    assert [response.status_code for response in predictions] == [200] * 200
    versions = set()
    for index, response in enumerate(predictions):
        body = response.json()
        assert len(body["probability"]) == 1
        assert sum(body["probability"][0]) == pytest.approx(1.0)
        assert body["prediction"] == [[0, 2, 1][index % 3]]
        versions.add(body["model_version"])
    assert versions  # every answer names the model that made it


PREDICTIONS = 10_000
IN_FLIGHT = 64
TRAININGS = 10


@dataclass(frozen=True)
class Answer:
    """One prediction request: when it was sent and answered (epoch seconds), and by what."""

    sent: float
    answered: float
    status: int
    model_version: int | None


async def _predict_in_turn(url: str, todo: Iterator[int]) -> list[Answer]:
    # A raw connection: through httpx, the client would be what takes the time.
    connection = Connection(url)
    answers = []
    try:
        for index in todo:
            body = json.dumps({"data": [ROWS[index % len(ROWS)]]}).encode()
            sent = time.time()
            response = await connection.post("/v1/predict", body)
            answered = time.time()
            answer = json.loads(response.body) if response.status == 200 else {}
            if response.status == 200:
                probability = answer["probability"][0]
                assert answer["prediction"] == [probability.index(max(probability))]
                assert sum(probability) == pytest.approx(1.0)
            answers.append(Answer(sent, answered, response.status, answer.get("model_version")))
    finally:
        connection.close()
    return answers


async def _flip_activations(client: httpx.AsyncClient, done: asyncio.Event) -> int:
    """Activate registered versions at random until ``done``; return how many times."""
    rng = random.Random(5)  # noqa: S311 - test choices, not cryptography
    flips = 0
    while not done.is_set():
        listed = await client.get("/v1/models", params={"limit": 500})
        versions = [item["version"] for item in listed.json()["items"]]
        response = await client.post(f"/v1/models/{rng.choice(versions)}/activate")
        assert response.status_code == 200, response.text
        flips += 1
        await asyncio.sleep(0.05)
    return flips


async def _storm_with_activations(server: LiveServer) -> tuple[list[Answer], list[str], int]:
    # Idle connections are dropped well before the server's 5 s keep-alive timeout, or
    # a request sent just as the server closes one would fail for a reason of no interest.
    limits = httpx.Limits(
        max_connections=IN_FLIGHT + 4, max_keepalive_connections=IN_FLIGHT + 4, keepalive_expiry=1
    )
    async with server.async_client(limits=limits) as client:
        locations = []
        for index in range(TRAININGS):
            queued = await client.post(
                "/v1/train",
                json={
                    "algorithm": "gradient_boosting",
                    "hyperparameters": {"n_estimators": 10 + index},
                    "activate": True,
                },
            )
            assert queued.status_code == 202, queued.text
            locations.append(queued.headers["location"])
        # The predictions take seconds: the flips have two versions to choose from already.
        deadline = time.monotonic() + 120
        while len((await client.get("/v1/models")).json()["items"]) < 2:
            assert time.monotonic() < deadline, "no training finished"
            await asyncio.sleep(0.1)
        done = asyncio.Event()
        flipping = asyncio.create_task(_flip_activations(client, done))
        todo = iter(range(PREDICTIONS))
        results = await asyncio.gather(
            *(_predict_in_turn(server.url, todo) for _ in range(IN_FLIGHT))
        )
        done.set()
        flips = await flipping
    return [answer for answers in results for answer in answers], locations, flips


def _active_spans(database_url: str, model_dir: Path) -> tuple[list[float], list[int]]:
    """Read the activation history: when each activation happened (epoch seconds), of what."""
    engine = make_engine(database_url)
    try:
        history = Registry(engine, ModelStore(str(model_dir))).activations()
    finally:
        engine.dispose()
    moments = []
    for activation in history:
        moment = activation.activated_at
        if moment.tzinfo is None:  # stored naive, in UTC
            moment = moment.replace(tzinfo=UTC)
        moments.append(moment.timestamp())
    assert moments == sorted(moments), "activations recorded out of order"
    return moments, [activation.version for activation in history]


def test_10000_predictions_name_a_version_active_during_the_request(
    server_factory: Callable[..., LiveServer], database_url: str
) -> None:
    # All the trainings are queued at once: the queue must hold them.
    queue = str(TRAININGS)
    server = server_factory(
        extra_env={"MLAPI_DATABASE_URL": database_url, "MLAPI_MAX_QUEUED_JOBS": queue}
    )
    answers, locations, flips = asyncio.run(_storm_with_activations(server))
    with server.client() as client:
        jobs = [wait_for_job(client, location) for location in locations]
    assert [job["state"] for job in jobs] == ["succeeded"] * TRAININGS, jobs
    assert Counter(answer.status for answer in answers) == {200: PREDICTIONS}
    moments, versions = _active_spans(database_url, server.model_dir)
    assert len(moments) >= 1 + TRAININGS + flips
    wrong = []
    for answer in answers:
        # Activations in force at some moment between sending and answering: the one
        # in force when it was sent, and every one made before it was answered.
        first = max(bisect.bisect_right(moments, answer.sent) - 1, 0)
        last = bisect.bisect_right(moments, answer.answered)
        if answer.model_version not in versions[first:last]:
            wrong.append(answer)
    assert not wrong, f"{len(wrong)} answers named a version not active then, e.g. {wrong[:3]}"
    assert len({answer.model_version for answer in answers}) > 1
