"""deploy/kserve against KServe's API types (from its Python SDK) and Kubernetes' schema."""

import ast
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import Manifest, find, run, tool
from tests.deploy.kserve_types import ApiType, check_object, read_types

Rendered = Callable[[str], list[Manifest]]
#: Kubernetes' types the KServe objects use, each checked below as part of a Pod.
KUBERNETES_TYPES = {"V1ObjectMeta", "V1Container", "V1Volume", "V1PodSecurityContext"}


@pytest.fixture(scope="module")
def sdk() -> Path:
    """The installed KServe SDK's folder (found without importing it)."""
    result = run(
        tool("python"),
        "-c",
        "import importlib.util as u; print(u.find_spec('kserve').submodule_search_locations[0])",
    )
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


@pytest.fixture(scope="module")
def types(sdk: Path) -> dict[str, ApiType]:
    """KServe's generated API types."""
    found = read_types(sdk / "models")
    assert {"V1beta1InferenceService", "V1alpha1ServingRuntime"} <= found.keys()
    return found


def kserve_objects(rendered: Rendered) -> list[Manifest]:
    """The objects of KServe's kinds in deploy/kserve."""
    return [o for o in rendered("kserve") if o["apiVersion"].startswith("serving.kserve.io/")]


def test_kserve_objects_match_kserves_types(rendered: Rendered, types: dict[str, ApiType]) -> None:
    objects = kserve_objects(rendered)
    assert {o["kind"] for o in objects} == {"InferenceService", "ServingRuntime"}
    for obj in objects:
        found = check_object(obj, types)
        assert found.errors == []
        assert {kind for _, kind, _ in found.kubernetes} <= KUBERNETES_TYPES


def test_the_type_check_refuses_a_misspelt_field(
    rendered: Rendered, types: dict[str, ApiType]
) -> None:
    service = copy.deepcopy(find(rendered("kserve"), "InferenceService", "mlapi"))
    model = service["spec"]["predictor"]["model"]
    model["protocolversion"] = model.pop("protocolVersion")
    service["spec"]["predictor"]["minReplicas"] = "2"
    errors = check_object(service, types).errors
    assert errors == [
        "InferenceService.spec.predictor.minReplicas: int expected, got '2'",
        "InferenceService.spec.predictor.model.protocolversion: no such field in V1beta1ModelSpec",
    ]


def protocols(sdk: Path) -> set[str]:
    """The predictor protocols KServe knows (``PredictorProtocol`` in its constants)."""
    tree = ast.parse((sdk / "constants" / "constants.py").read_text())
    enum = next(
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == "PredictorProtocol"
    )
    return {
        ast.literal_eval(statement.value)
        for statement in enum.body
        if isinstance(statement, ast.Assign)
    }


def test_the_predictor_speaks_v2_on_a_runtime_declaring_it(rendered: Rendered, sdk: Path) -> None:
    objects = rendered("kserve")
    service = find(objects, "InferenceService", "mlapi")
    runtime = find(objects, "ServingRuntime", "mlapi")
    model = service["spec"]["predictor"]["model"]
    assert model["protocolVersion"] == "v2"
    assert model["protocolVersion"] in protocols(sdk)
    assert runtime["spec"]["protocolVersions"] == ["v2"]
    assert model["runtime"] == runtime["metadata"]["name"]
    formats = {f["name"] for f in runtime["spec"]["supportedModelFormats"]}
    assert model["modelFormat"]["name"] in formats
    (container,) = runtime["spec"]["containers"]
    assert container["name"] == "kserve-container"
    assert [port["containerPort"] for port in container["ports"]] == [8888]
    env = {item["name"]: item["value"] for item in container["env"]}
    # The V2 paths name the model as KServe routes to it: the InferenceService's name.
    assert env["MLAPI_MODEL_NAME"] == service["metadata"]["name"]


def test_the_predictor_pod_matches_the_kubernetes_schema(
    rendered: Rendered, tmp_path: Path
) -> None:
    """The Kubernetes-typed parts, put together as the Pod KServe makes of them."""
    objects = rendered("kserve")
    predictor = find(objects, "InferenceService", "mlapi")["spec"]["predictor"]
    runtime = find(objects, "ServingRuntime", "mlapi")["spec"]
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "mlapi-predictor", "namespace": "mlapi"},
        "spec": {
            "containers": runtime["containers"],
            "volumes": runtime["volumes"],
            "securityContext": predictor["securityContext"],
            "automountServiceAccountToken": predictor["automountServiceAccountToken"],
        },
    }
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(pod))
    result = run(tool("kubernetes-validate"), "--strict", "--quiet", path)
    assert result.returncode == 0, result.stdout + result.stderr
    context = runtime["containers"][0]["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"]["drop"] == ["ALL"]
    assert predictor["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
