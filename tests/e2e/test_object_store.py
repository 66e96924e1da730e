"""A real server with its model files on an S3-compatible server, its registry on PostgreSQL."""

import subprocess
import sys
from pathlib import Path

import fsspec

from mlapi.settings import Settings
from tests.conftest import S3_KEYS, fresh_database
from tests.e2e.conftest import free_port, start_server, wait_for_job
from tests.e2e.services import start_s3_server

ROW = [6.7, 3.0, 5.2, 2.3]


def test_a_version_trained_into_s3_is_served_again_after_a_restart_and_a_lost_store_is_a_503(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "server"
    folder.mkdir()
    with fresh_database("postgresql", tmp_path) as database, start_s3_server() as endpoint:
        env = {
            "MLAPI_MODEL_DIR": "s3://models/mlapi",
            "MLAPI_DATABASE_URL": database,
            "MLAPI_S3_ENDPOINT_URL": endpoint,
            "MLAPI_S3_ACCESS_KEY_ID": S3_KEYS["aws_access_key_id"],
            "MLAPI_S3_SECRET_ACCESS_KEY": S3_KEYS["aws_secret_access_key"],
            "MLAPI_S3_TIMEOUT": "2",
        }
        settings = Settings(**{name.removeprefix("MLAPI_").lower(): v for name, v in env.items()})
        bucket = fsspec.filesystem("s3", **settings.storage_options("s3://"))
        bucket.mkdir("models")

        server = start_server(folder, extra_env=env)
        try:
            with server.client() as client:
                queued = client.post("/v1/train", json={"algorithm": "decision_tree"})
                assert queued.status_code == 202
                job = wait_for_job(client, queued.headers["location"])
                assert job["state"] == "succeeded", job
                trained = job["model_version"]
                checksum = client.get(f"/v1/models/{trained}").json()["checksum"]
                assert (
                    client.post("/v1/predict", json={"data": [ROW]}).json()["model_version"]
                    == trained
                )
            # The upload, and this replica's checked copy of it.
            assert bucket.exists(f"models/mlapi/versions/{checksum}.skops")
            cached = folder / "cache" / "models" / f"{checksum}.skops"
            before = cached.stat()
        finally:
            server.stop()

        restarted = start_server(folder, extra_env=env)
        try:
            with restarted.client() as client:
                served = client.post("/v1/predict", json={"data": [ROW]}).json()
                assert served["model_version"] == trained
            # Served from the cache: the copy was not downloaded and written again.
            assert (cached.stat().st_ino, cached.stat().st_mtime_ns) == (
                before.st_ino,
                before.st_mtime_ns,
            )

            bucket.rm("models", recursive=True)  # the bucket is gone
            with restarted.client() as client:
                refused = client.post("/v1/train", json={"algorithm": "decision_tree"})
                still = client.post("/v1/predict", json={"data": [ROW]})
        finally:
            restarted.stop()

    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:mlapi:problem:model-store"
    assert "retry-after" in refused.headers
    assert (still.status_code, still.json()["model_version"]) == (200, trained)
    # The S3 server is gone too now: `mlapi serve` does not start, and says why in one line.
    port = str(free_port())
    refused_start = subprocess.run(
        [sys.executable, "-m", "mlapi", "serve", "--host", "127.0.0.1", "--port", port],
        cwd=folder,
        env={**restarted.env, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused_start.returncode == 1
    [line] = refused_start.stderr.splitlines()
    assert line.startswith("error: the model store s3://models/mlapi failed looking up its bucket")
    assert f'Could not connect to the endpoint URL: "{endpoint}/models"' in line
