"""Model files refused on load: damaged, altered, or made by other library versions.

Whatever is refused, the service goes on serving the last good version.
"""

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mlapi.ml.persistence import bundled_model_bytes
from mlapi.ml.provenance import library_versions
from tests.e2e.conftest import LiveServer, start_server, wait_for_job

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


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that refuses versions made by other library versions than its own.

    It answers with the full reason of a refusal (``MLAPI_ERROR_DETAIL=full``), which the
    tests read; that the default hides it is ``test_error_detail.py``'s to show.
    """
    server = start_server(
        tmp_path_factory.mktemp("refusing"),
        extra_env={"MLAPI_LIBRARY_MISMATCH": "refuse", "MLAPI_ERROR_DETAIL": "full"},
    )
    yield server
    server.stop()


def _train_inactive(client: httpx.Client) -> dict[str, object]:
    queued = client.post("/v1/train", json={"algorithm": "decision_tree", "activate": False})
    job = wait_for_job(client, queued.headers["location"])
    assert job["state"] == "succeeded", job
    version: dict[str, object] = client.get(f"/v1/models/{job['model_version']}").json()
    return version


def _still_served_by(client: httpx.Client, version: int) -> None:
    assert client.get("/v1/model").json()["version"] == version
    answer = client.post("/v1/predict", json={"data": ROWS})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["model_version"], answer.json()["prediction"]) == (version, [0, 2, 1])
    assert client.post("/predict", json={"data": ROWS}).json()["prediction"] == [0, 2, 1]


def _refused(response: httpx.Response) -> str:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:mlapi:problem:model-file"
    return str(response.json()["detail"])


def test_activating_a_version_whose_file_was_altered_is_refused_and_nothing_changes(
    refusing: LiveServer,
) -> None:
    with refusing.client() as client:
        served = client.get("/v1/model").json()["version"]
        altered = _train_inactive(client)
        # A valid model file, but not the one registered: only its checksum tells.
        file = refusing.model_dir / "versions" / f"{altered['checksum']}.skops"
        file.write_bytes(bundled_model_bytes())

        detail = _refused(client.post(f"/v1/models/{altered['version']}/activate"))

        assert "damaged" in detail
        assert str(altered["checksum"]) in detail
        _still_served_by(client, served)


def test_a_version_recorded_with_other_library_versions_is_refused_in_refuse_mode(
    refusing: LiveServer,
) -> None:
    with refusing.client() as client:
        served = client.get("/v1/model").json()["version"]
        trained = _train_inactive(client)
        assert trained["libraries"] == library_versions()  # the server's own: same venv
        other = {**library_versions(), "scikit-learn": "0.24.2"}
        database = sqlite3.connect(refusing.model_dir / "registry.sqlite3")
        with contextlib.closing(database), database:  # committed, then closed
            database.execute(
                "UPDATE model_versions SET libraries = ? WHERE version = ?",
                (json.dumps(other), trained["version"]),
            )

        shown = client.get(f"/v1/models/{trained['version']}").json()
        detail = _refused(client.post(f"/v1/models/{trained['version']}/activate"))
        asked = client.post("/v1/predict", json={"data": ROWS, "model_version": trained["version"]})

        assert shown["libraries"] == other
        assert f"model version {trained['version']} was made by other library versions" in detail
        assert "scikit-learn 0.24.2" in detail
        assert _refused(asked) == detail
        _still_served_by(client, served)
