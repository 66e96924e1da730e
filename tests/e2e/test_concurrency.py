"""Predictions keep being answered, and correctly, while trainings run."""

import asyncio

import httpx
import pytest

from tests.e2e.conftest import LiveServer

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
