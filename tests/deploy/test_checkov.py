"""checkov's scan of what ``kubectl apply -k`` would apply: no failed check.

checkov without a Prisma Cloud account gives no severities, so every failed check
counts, high or not. A check may be skipped only by a ``checkov.io/skipN: ID=reason``
annotation on the object, and the reason must be written out.
"""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import TARGETS, Manifest, find, run, tool

Rendered = Callable[[str], list[Manifest]]


def scan(folder: Path) -> dict[str, Any]:
    """Checkov's report on the Kubernetes manifests in a folder (offline: no download)."""
    result = run(
        tool("checkov"), "--directory", folder, "--framework", "kubernetes", "--compact",
        "--skip-download", "--output", "json",
    )  # fmt: skip
    assert result.returncode in {0, 1}, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def write(folder: Path, objects_by_target: dict[str, list[Manifest]]) -> Path:
    """Write each target's objects to a file of its own in a folder of their own."""
    folder.mkdir()
    for target, objects in objects_by_target.items():
        (folder / f"{target}.yaml").write_text(yaml.safe_dump_all(objects))
    return folder


#: The file of the control: production's Deployment made privileged, which must fail.
CONTROL = "control"


@pytest.fixture(scope="module")
def report(rendered: Rendered, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The checkov report on every target and the control, scanned together (one start-up)."""
    control = copy.deepcopy(find(rendered("production"), "Deployment", "mlapi"))
    control["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    objects = {target: rendered(target) for target in TARGETS} | {CONTROL: [control]}
    return scan(write(tmp_path_factory.mktemp("checkov") / "rendered", objects))


def checks(report: dict[str, Any], outcome: str, *, control: bool = False) -> list[Any]:
    """The checks of one outcome (``failed``, ``passed``...), of the targets or the control."""
    return [
        check
        for check in report["results"][f"{outcome}_checks"]
        if (Path(check["file_path"]).stem == CONTROL) is control
    ]


def test_no_check_fails(report: dict[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['check_name']}: {check['resource']}"
        for check in checks(report, "failed")
    ]
    assert failed == []
    assert report["results"]["parsing_errors"] == []
    assert report["summary"]["passed"] > 500


def test_every_target_was_scanned(report: dict[str, Any]) -> None:
    files = {check["file_path"] for check in checks(report, "passed")}
    assert {Path(name).stem for name in files} == set(TARGETS)


def test_every_skip_gives_its_reason(report: dict[str, Any]) -> None:
    skipped = checks(report, "skipped")
    assert skipped  # the local overlay's image has no digest, and says why
    for check in skipped:
        reason = check["check_result"]["suppress_comment"]
        assert reason, check["resource"]
        assert reason != "No comment provided", check["resource"]
        assert len(reason) > 30, check["resource"]


def test_the_scan_finds_the_privileged_container(report: dict[str, Any]) -> None:
    failed = {check["check_id"] for check in checks(report, "failed", control=True)}
    assert failed == {"CKV_K8S_16"}
