"""KServe's API types, read from its Python SDK, to check manifests of KServe's kinds.

No package holds KServe's CRD schemas to install (they are in its Helm chart and
repository only), but its Python SDK is generated from the same API: each class of
``kserve.models`` has ``openapi_types`` (field: type), ``attribute_map`` (field: JSON
key) and, in its setters, the fields that must not be None. This reads those from the
SDK's source, without importing it (its dependencies are a whole model server), and
checks an object against them: every key known, every required key there, every value
of its type. Fields of Kubernetes' own types (``V1Container``...) are left to the
Kubernetes schema, and reported so that the caller checks them there.
"""

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "bool": (bool,),
    "float": (int, float),
    "ResourceQuantity": (str, int, float),
    "datetime": (str,),
    "object": (object,),
}
REQUIRED = re.compile(r"Invalid value for `(\w+)`, must not be `None`")


@dataclass(frozen=True)
class ApiType:
    """One generated class: its fields by JSON key, and the keys that must be present."""

    fields: dict[str, str]
    required: frozenset[str]


@dataclass
class Findings:
    """What a check found: errors, and the values of Kubernetes' types it did not check."""

    errors: list[str] = field(default_factory=list)
    kubernetes: list[tuple[str, str, Any]] = field(default_factory=list)


def read_types(models: Path) -> dict[str, ApiType]:
    """Read every generated class in the SDK's ``kserve/models`` folder, by class name."""
    types = {}
    for path in sorted(models.glob("*.py")):
        source = path.read_text()
        for node in ast.parse(source).body:
            if not isinstance(node, ast.ClassDef):
                continue
            tables = {
                statement.targets[0].id: ast.literal_eval(statement.value)
                for statement in node.body
                if isinstance(statement, ast.Assign)
                and isinstance(statement.targets[0], ast.Name)
                and statement.targets[0].id in {"openapi_types", "attribute_map"}
            }
            if len(tables) != 2:
                continue
            keys = tables["attribute_map"]
            body = ast.get_source_segment(source, node) or ""
            types[node.name] = ApiType(
                fields={keys[name]: kind for name, kind in tables["openapi_types"].items()},
                required=frozenset(keys[name] for name in REQUIRED.findall(body)),
            )
    return types


def check(value: Any, kind: str, types: dict[str, ApiType], where: str, found: Findings) -> None:
    """Check a value against a type name of the SDK, adding what it finds to ``found``."""
    if kind.startswith("list["):
        if not isinstance(value, list):
            found.errors.append(f"{where}: a list expected")
            return
        for index, item in enumerate(value):
            check(item, kind[5:-1], types, f"{where}[{index}]", found)
    elif kind.startswith("dict("):
        if not isinstance(value, dict):
            found.errors.append(f"{where}: a mapping expected")
            return
        item_kind = kind[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            check(item, item_kind, types, f"{where}.{key}", found)
    elif kind in SCALARS:
        is_bool = isinstance(value, bool)
        if not isinstance(value, SCALARS[kind]) or (is_bool and kind in {"int", "float"}):
            found.errors.append(f"{where}: {kind} expected, got {value!r}")
    elif kind in types:
        if not isinstance(value, dict):
            found.errors.append(f"{where}: an object of {kind} expected")
            return
        api_type = types[kind]
        for key in sorted(value.keys() - api_type.fields.keys()):
            found.errors.append(f"{where}.{key}: no such field in {kind}")
        for key in sorted(api_type.required - value.keys()):
            found.errors.append(f"{where}.{key}: required by {kind}")
        for key, item in value.items():
            if key in api_type.fields:
                check(item, api_type.fields[key], types, f"{where}.{key}", found)
    else:
        found.kubernetes.append((where, kind, value))


def check_object(obj: dict[str, Any], types: dict[str, ApiType]) -> Findings:
    """Check a whole KServe object (``apiVersion`` ``serving.kserve.io/<version>``)."""
    group, _, version = obj["apiVersion"].partition("/")
    assert group == "serving.kserve.io", obj["apiVersion"]
    found = Findings()
    check(obj, f"{version.capitalize()}{obj['kind']}", types, obj["kind"], found)
    return found
