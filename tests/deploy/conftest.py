"""The checkers of deploy/ and what they are run on: the rendered kustomize targets.

The tools live in their own virtual environment, made by ``make deploy-tools``
(``.venv-tools``; ``PYTEST_DEPLOY_TOOLS`` names its ``bin`` folder): kubectl (for its
kustomize), kubernetes-validate, check-jsonschema, checkov, and KServe's Python SDK.
Without them these tests skip, except under ``make test``, where they fail.
"""

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
#: Every kustomize target a user applies, by the name the tests give it.
TARGETS = {
    "local": KUBERNETES / "overlays" / "local",
    "production": KUBERNETES / "overlays" / "production",
    "kserve": DEPLOY / "kserve",
}
TOOLS = Path(os.environ.get("PYTEST_DEPLOY_TOOLS") or ROOT / ".venv-tools" / "bin")
#: Set by make test: missing tools fail the tests instead of skipping them.
REQUIRE_TOOLS = bool(os.environ.get("PYTEST_REQUIRE_DEPLOY_TOOLS"))

Manifest = dict[str, Any]


def tool(name: str) -> Path:
    """The path of one of the tools; skips the test (fails it under make test) without it."""
    path = TOOLS / name
    if not path.exists():
        message = f"{path} is missing: run `make deploy-tools`"
        if REQUIRE_TOOLS:
            pytest.fail(message)
        pytest.skip(message)
    return path


def run(*command: str | Path, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool to its end, with its output captured as text (never raises for its status)."""
    return subprocess.run(
        [str(part) for part in command],
        input=input_text,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def kustomize(target: Path) -> str:
    """Render a kustomize target with kubectl's built-in kustomize, as ``kubectl apply -k`` does."""
    result = run(tool("kubectl"), "kustomize", target)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="session")
def rendered() -> Callable[[str], list[Manifest]]:
    """The objects of a target (see :data:`TARGETS`), rendered once per test process."""
    cache: dict[str, list[Manifest]] = {}

    def objects(name: str) -> list[Manifest]:
        if name not in cache:
            cache[name] = [doc for doc in yaml.safe_load_all(kustomize(TARGETS[name])) if doc]
        return cache[name]

    return objects


def find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    """The one object of that kind and name."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def pod_specs(objects: list[Manifest]) -> list[tuple[str, Manifest]]:
    """Every pod template's spec in the objects, named ``Kind/name``."""
    specs = []
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec:
            specs.append((f"{obj['kind']}/{obj['metadata']['name']}", spec["template"]["spec"]))
    return specs
