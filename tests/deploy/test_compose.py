"""deploy/compose: valid against the Compose Specification, and a multi-replica run.

No Docker engine here: check-jsonschema validates the file against the Compose
Specification's schema (vendored in the package); the rest checks what it means.
"""

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlapi.settings import Settings
from tests.deploy.conftest import DEPLOY, run, tool

COMPOSE = DEPLOY / "compose" / "compose.yaml"
NGINX = DEPLOY / "compose" / "nginx.conf"
REPLICAS = ["mlapi-1", "mlapi-2"]


@pytest.fixture
def compose() -> dict[str, Any]:
    """The compose file, its anchors and merge keys resolved."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def validate(path: Path) -> tuple[int, str]:
    """Check a compose file against the Compose Specification's schema."""
    result = run(tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", path)
    return result.returncode, result.stdout + result.stderr


def test_the_file_matches_the_compose_specification() -> None:
    status, output = validate(COMPOSE)
    assert status == 0, output


def test_the_schema_check_refuses_a_misspelt_key(compose: dict[str, Any], tmp_path: Path) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["mlapi-1"]["depend_on"] = broken["services"]["mlapi-1"].pop("depends_on")
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    status, output = validate(path)
    assert status != 0
    assert "depend_on" in output


def test_the_replicas_share_one_registry_store_and_cluster(compose: dict[str, Any]) -> None:
    services = compose["services"]
    first, second = (services[name] for name in REPLICAS)
    assert first["environment"] == second["environment"]
    assert first["image"] == second["image"] == "mlapi:local"
    env = first["environment"]
    assert env["MLAPI_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in env["MLAPI_DATABASE_URL"]
    assert env["MLAPI_MODEL_DIR"].startswith("s3://")
    assert env["MLAPI_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["MLAPI_DASK_SCHEDULER"] == "tcp://dask-scheduler:8786"
    # Each replica keeps a cache of its own; nothing else is written outside tmpfs.
    assert first["volumes"] != second["volumes"]
    assert first["read_only"] is second["read_only"] is True


def test_the_dask_cluster_runs_the_servers_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    scheduler, worker = services["dask-scheduler"], services["dask-worker"]
    assert scheduler["image"] == worker["image"] == services["mlapi-1"]["image"]
    assert scheduler["command"][:2] == ["dask", "scheduler"]
    assert "8786" in scheduler["command"]
    assert worker["command"][:3] == ["dask", "worker", "tcp://dask-scheduler:8786"]


def test_the_bucket_exists_before_the_replicas_start(compose: dict[str, Any]) -> None:
    services = compose["services"]
    bucket = re.match(r"s3://([^/]+)", services["mlapi-1"]["environment"]["MLAPI_MODEL_DIR"])
    assert bucket
    assert f"local/{bucket[1]}" in services["minio-bucket"]["command"][0]
    for name in REPLICAS:
        depends = services[name]["depends_on"]
        assert depends["minio-bucket"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}


def test_the_proxy_sends_to_both_replicas(compose: dict[str, Any]) -> None:
    config = NGINX.read_text()
    upstream = re.search(r"upstream mlapi \{(.*?)\}", config, re.S)
    assert upstream
    servers = re.findall(r"server ([\w.-]+):(\d+)", upstream[1])
    assert servers == [(name, "8888") for name in REPLICAS]
    assert "proxy_pass http://mlapi;" in config
    proxy = compose["services"]["proxy"]
    (port,) = proxy["ports"]
    assert re.search(r"listen (\d+);", config)[1] == port.rsplit(":", 1)[1]  # type: ignore[index]
    assert port.startswith("127.0.0.1:")
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in proxy["volumes"]


def test_the_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        assert ":" in image, name
        assert not image.endswith(":latest"), name


def test_a_replicas_settings_load(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = {f"MLAPI_{name.upper()}" for name in Settings.model_fields}
    for name, value in compose["services"]["mlapi-1"]["environment"].items():
        assert name in real, name
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.registry_url.startswith("postgresql+psycopg://mlapi:")
    assert settings.model_dir == "s3://mlapi-models/models"
