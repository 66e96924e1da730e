"""How much of the server's own failures reaches a client: MLAPI_ERROR_DETAIL."""

from collections.abc import Callable

import pytest

from tests.e2e.conftest import LiveServer, wait_for_job

ROWS = [[5.1, 3.5, 1.4, 0.2]]


@pytest.mark.parametrize("detail", ["safe", "full"])
def test_a_missing_model_file_names_its_path_only_with_full_detail(
    server_factory: Callable[..., LiveServer], detail: str
) -> None:
    server = server_factory(extra_env={"MLAPI_ERROR_DETAIL": detail, "MLAPI_CACHED_VERSIONS": "0"})
    with server.client() as client:
        queued = client.post("/v1/train", json={"activate": False})
        job = wait_for_job(client, queued.headers["location"])
        assert job["state"] == "succeeded", job
        version = client.get(f"/v1/models/{job['model_version']}").json()
        model_file = server.model_dir / "versions" / f"{version['checksum']}.skops"
        model_file.unlink()
        answer = client.post(
            "/v1/predict", json={"data": ROWS, "model_version": version["version"]}
        )
        # What the client sent wrong is always said in full.
        invalid = client.post("/v1/predict", json={"data": [[1, 2]]})

    assert answer.status_code == 503, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:mlapi:problem:model-file"
    if detail == "safe":
        assert str(server.model_dir) not in problem["detail"]
        assert "logged" in problem["detail"]
    else:
        assert str(model_file) in problem["detail"]
    assert str(model_file) in server.log.read_text()  # the operator always has it
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["pointer"] == "#/data/0"
