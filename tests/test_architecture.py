"""The layering a newcomer relies on: each front calls the service layer, nothing flows up.

Read from the source with :mod:`ast`, so an import hidden in a function counts too.
"""

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parent.parent / "src" / "mlapi"

#: Most lines a module may have before it is split along a seam.
MAX_MODULE_LINES = 360

#: What each package must never import.
FORBIDDEN = {
    "ml": ("mlapi.serving", "mlapi.api", "mlapi.cli", "mlapi.main", "fastapi", "starlette"),
    "serving": ("mlapi.api", "mlapi.cli", "mlapi.main", "fastapi", "starlette"),
    "cli": ("mlapi.api", "mlapi.main", "fastapi", "starlette"),
    "api": ("mlapi.cli", "sklearn"),
}


def _modules(package: str) -> list[Path]:
    return sorted((SOURCE / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_layer_imports_a_front_or_a_layer_above_it(package: str) -> None:
    offending = {
        f"{path.relative_to(SOURCE)}: {name}"
        for path in _modules(package)
        for name in _imports(path)
        for forbidden in FORBIDDEN[package]
        if name == forbidden or name.startswith(f"{forbidden}.")
    }

    assert offending == set()


def test_the_rules_see_imports_inside_functions() -> None:
    # `serve` imports uvicorn inside the function: the walk must find it.
    assert "uvicorn" in _imports(SOURCE / "cli" / "serve.py")


#: What a front may import from the service layer: its entry point, records and errors.
SERVICE_SURFACE = ("mlapi.serving.service", "mlapi.serving.records", "mlapi.serving.errors")


@pytest.mark.parametrize("front", ["api", "cli"])
def test_fronts_reach_the_service_layer_only_through_its_entry_point(front: str) -> None:
    offending = {
        f"{path.relative_to(SOURCE)}: {name}"
        for path in _modules(front)
        for name in _imports(path)
        if name.startswith("mlapi.serving") and name not in SERVICE_SURFACE
    }

    assert offending == set()


def test_no_source_module_is_too_long_to_read_at_once() -> None:
    long = {
        str(path.relative_to(SOURCE)): lines
        for path in SOURCE.rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }

    assert long == {}
