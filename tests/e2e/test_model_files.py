"""A damaged model file is refused on load; the service serves the last good version."""

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import LiveServer, wait_for_job

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]


def _truncate(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def _flip_bytes(file: Path) -> None:
    data = bytearray(file.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 8):
        data[offset] ^= 0xFF
    file.write_bytes(bytes(data))


def _train(client: httpx.Client, n_estimators: int) -> int:
    queued = client.post(
        "/v1/train",
        json={"algorithm": "gradient_boosting", "hyperparameters": {"n_estimators": n_estimators}},
    )
    assert queued.status_code == 202, queued.text
    job = wait_for_job(client, queued.headers["location"])
    assert job["state"] == "succeeded", job
    return int(job["model_version"])


@pytest.mark.parametrize("damage", [_truncate, _flip_bytes], ids=["truncated", "flipped-bytes"])
def test_damaged_active_file_is_refused_and_the_last_good_version_serves(
    server_factory: Callable[..., LiveServer], damage: Callable[[Path], None]
) -> None:
    server = server_factory()
    with server.client() as client:
        good = _train(client, n_estimators=10)
        damaged = _train(client, n_estimators=11)
        active = client.get("/v1/model").json()
    assert (active["version"], active["active"]) == (damaged, True)
    server.stop()
    damage(server.model_dir / "versions" / f"{active['checksum']}.skops")

    restarted = server_factory(same_as=server)
    with restarted.client() as client:
        model = client.get("/v1/model").json()
        answer = client.post("/v1/predict", json={"data": ROWS})
        asked = client.post("/v1/predict", json={"data": ROWS, "model_version": damaged})
        activation = client.post(f"/v1/models/{damaged}/activate")
        after = client.get("/v1/model").json()
    assert model["version"] == good
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == good
    assert answer.json()["prediction"] == [0, 2, 1]
    # Asking for the damaged version by number, or activating it, is refused too.
    assert asked.status_code == 503, asked.text
    assert activation.status_code == 503, activation.text
    assert activation.headers["content-type"] == "application/problem+json"
    assert after["version"] == good
    log = restarted.log.read_text()
    assert f"active version {damaged} refused" in log
    assert f"falling back to the last good version {good}" in log
