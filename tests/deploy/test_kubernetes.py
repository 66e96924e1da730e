"""deploy/kubernetes and deploy/kserve, rendered as ``kubectl apply -k`` renders them.

Every object is checked against the Kubernetes API's own OpenAPI schema (strict: an
unknown field fails), at the oldest and newest Kubernetes versions supported; the rest
checks what the manifests mean: who runs as what, which routes the probes ask, what
each overlay changes, and that the settings they carry are settings mlapi reads.
"""

import base64
import copy
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlapi.api.access import RULES
from mlapi.settings import Settings
from tests.deploy.conftest import (
    DEPLOY,
    KUBERNETES,
    TARGETS,
    Manifest,
    find,
    pod_specs,
    run,
    tool,
)

Rendered = Callable[[str], list[Manifest]]
#: The oldest Kubernetes still supported upstream when this was written, and the newest.
KUBERNETES_VERSIONS = ["1.32.0", "1.37.0"]
SETTING_NAME = re.compile(r"\bMLAPI_[A-Z0-9_]+\b")


def validate(objects: list[Manifest], version: str, folder: Path) -> tuple[int, str]:
    """Check objects against Kubernetes' schema (strict); the status and what it said."""
    path = folder / "objects.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    result = run(tool("kubernetes-validate"), "--strict", "--quiet", "-k", version, path)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_object_matches_the_kubernetes_schema(
    rendered: Rendered, target: str, version: str, tmp_path: Path
) -> None:
    status, output = validate(rendered(target), version, tmp_path)
    assert status == 0, output
    assert "ERROR" not in output


def test_the_schema_check_refuses_an_unknown_field(rendered: Rendered, tmp_path: Path) -> None:
    objects = copy.deepcopy(rendered("production"))
    find(objects, "Deployment", "mlapi")["spec"]["template"]["spec"]["containers"][0][
        "readinessprobe"
    ] = {"httpGet": {"path": "/v1/health/ready", "port": 8888}}
    status, output = validate(objects, KUBERNETES_VERSIONS[-1], tmp_path)
    assert status != 0
    assert "readinessprobe" in output


@pytest.mark.parametrize("target", ["local", "production"])
def test_every_pod_runs_unprivileged_with_a_read_only_root(rendered: Rendered, target: str) -> None:
    specs = pod_specs(rendered(target))
    assert len(specs) >= 2
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            limits = container["resources"]["limits"]
            assert {"cpu", "memory"} <= limits.keys(), name


@pytest.mark.parametrize("target", ["local", "production"])
def test_mlapi_pods_write_only_to_empty_dirs_where_the_image_writes(
    rendered: Rendered, target: str
) -> None:
    for name, spec in pod_specs(rendered(target)):
        containers = [c for c in spec["containers"] if c["name"] in {"mlapi", "train"}]
        if not containers:
            continue
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        writable = {
            mount["mountPath"]: volumes[mount["name"]]
            for mount in containers[0]["volumeMounts"]
            if not mount.get("readOnly")
        }
        assert writable.keys() == {"/app/var", "/tmp"}, name  # noqa: S108 - the pod's own
        assert all("emptyDir" in volume for volume in writable.values()), name
        assert spec["securityContext"]["runAsUser"] == 10001, name


def probe_paths(objects: list[Manifest]) -> set[str]:
    """The paths of every HTTP probe of an mlapi container in the objects."""
    paths = set()
    for obj in objects:
        text = yaml.safe_dump(obj)
        if "image: mlapi" not in text and "/mlapi@" not in text:
            continue
        paths |= set(re.findall(r"path: (/\S+)", text))
    return paths


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_probes_ask_routes_that_answer_without_a_key(rendered: Rendered, target: str) -> None:
    paths = probe_paths(rendered(target))
    assert paths
    for path in paths:
        rule = RULES.get(("GET", path))
        assert rule is not None, f"{path} is no route of mlapi"
        assert rule.scope is None, f"{path} needs a key, which a probe does not send"


def test_kserve_probes_are_the_open_inference_protocols(rendered: Rendered) -> None:
    assert probe_paths(rendered("kserve")) == {"/v2/health/live", "/v2/health/ready"}


def test_the_local_overlay_runs_one_small_replica_beside_its_services(rendered: Rendered) -> None:
    objects = rendered("local")
    deployment = find(objects, "Deployment", "mlapi")
    assert deployment["spec"]["replicas"] == 1
    assert find(objects, "HorizontalPodAutoscaler", "mlapi")["spec"]["minReplicas"] == 1
    assert {"postgres", "minio"} <= {
        o["metadata"]["name"] for o in objects if o["kind"] == "StatefulSet"
    }
    settings = settings_of(objects)
    assert settings["MLAPI_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert "@postgres:5432/" in settings["database_url"]
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {
        "mlapi"
    }


def test_production_spreads_three_or_more_replicas_of_an_image_by_digest(
    rendered: Rendered,
) -> None:
    objects = rendered("production")
    spec = find(objects, "Deployment", "mlapi")["spec"]
    assert spec["replicas"] >= 3
    hpa = find(objects, "HorizontalPodAutoscaler", "mlapi")["spec"]
    assert 3 <= hpa["minReplicas"] < hpa["maxReplicas"]
    keys = {c["topologyKey"] for c in spec["template"]["spec"]["topologySpreadConstraints"]}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for _, pod in pod_specs(objects):
        for container in pod["containers"]:
            assert re.fullmatch(r"\S+@sha256:[0-9a-f]{64}", container["image"])
    # Its pods are sized for the workers they run: a CPU each.
    workers = int(settings_of(objects)["MLAPI_WORKERS"])
    resources = spec["template"]["spec"]["containers"][0]["resources"]
    assert int(resources["requests"]["cpu"]) == workers
    assert resources["requests"] == resources["limits"]


@pytest.mark.parametrize("target", ["production", "kserve"])
def test_applying_never_overwrites_the_real_secret(rendered: Rendered, target: str) -> None:
    assert not [o for o in rendered(target) if o["kind"] == "Secret"]


def test_the_training_job_trains_against_the_shared_registry(rendered: Rendered) -> None:
    objects = rendered("production")
    cronjob = find(objects, "CronJob", "mlapi-train")
    assert cronjob["spec"]["suspend"] is True
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    server = find(objects, "Deployment", "mlapi")["spec"]["template"]["spec"]
    job, serving = pod["containers"][0], server["containers"][0]
    assert job["args"][:2] == ["mlapi", "train"]
    assert "--wait" in job["args"]
    # The same image, settings and configuration file as the servers.
    assert job["image"] == serving["image"]
    assert job["envFrom"] == serving["envFrom"]
    secrets = [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v]
    assert secrets == [v["secret"]["secretName"] for v in server["volumes"] if "secret" in v]


def config_file(objects: list[Manifest]) -> dict[str, Any]:
    """The configuration file (TOML) that mlapi's pods read from the Secret ``mlapi``.

    Without that Secret in the objects (production: it is created apart), the base's
    example stands in.
    """
    secrets = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "mlapi"]
    if secrets:
        text = base64.b64decode(secrets[0]["data"]["mlapi.toml"]).decode()
    else:
        example = yaml.safe_load((KUBERNETES / "base" / "config" / "secret.yaml").read_text())
        text = example["stringData"]["mlapi.toml"]
    return tomllib.loads(text)


def settings_of(objects: list[Manifest]) -> dict[str, Any]:
    """The settings mlapi's pods get: the ConfigMap's variables and the file's keys."""
    config = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
    return {**config, **config_file(objects)}


def real_settings() -> set[str]:
    """The MLAPI_* names of the settings mlapi reads today."""
    return {f"MLAPI_{name.upper()}" for name in Settings.model_fields} | {"MLAPI_CONFIG_FILE"}


def test_every_setting_named_in_deploy_is_a_setting() -> None:
    named = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file() and path.suffix in {".yaml", ".env", ".toml", ".conf"}:
            named |= set(SETTING_NAME.findall(path.read_text()))
    assert len(named) > 10
    assert sorted(named - real_settings()) == []


@pytest.mark.parametrize("target", ["local", "production"])
def test_the_pods_settings_load(
    rendered: Rendered, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an mlapi pod reads makes valid Settings."""
    objects = rendered(target)
    from_file = config_file(objects)
    assert sorted({f"MLAPI_{key.upper()}" for key in from_file} - real_settings()) == []
    config = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
    assert config["MLAPI_CONFIG_FILE"] == "/etc/mlapi/mlapi.toml"
    for name, value in config.items():
        if name != "MLAPI_CONFIG_FILE":
            monkeypatch.setenv(name, value)
    # The file's values, as arguments: validated as a configuration file's are.
    settings = Settings(**from_file)
    assert settings.model_dir.startswith("s3://")
    assert settings.registry_url.startswith("postgresql+psycopg://")
    assert not settings.dev_mode
