"""Sphinx extension: pages generated from mlapi's own code, so that they cannot drift.

Directives (usable from reStructuredText and, with MyST, from Markdown):

``mlapi-settings``
    A table of every field of :class:`mlapi.settings.Settings`: its environment
    variable and configuration-file key, type, default, bounds and description.
``mlapi-estimators``
    Each algorithm of the estimator catalogue with its hyperparameters.
``mlapi-routes``
    Every operation of the REST app's OpenAPI document, with the error statuses it
    declares.
``mlapi-submodules PACKAGE``
    A titled ``automodule`` for each module of a package, so that a new estimator
    module appears in the API reference without editing it.

The build warns (and so, with ``-W``, fails) when a public module of ``mlapi`` is
documented by no ``automodule``.

It also appends, to the autodoc output of every pydantic model, the list of its fields,
and to every enum the list of its values, since autodoc shows neither by itself; it
shows ``Annotated[T, ...]`` function parameters as ``T``, and pydantic-settings classes
as ``Settings(**values)``.
"""

import dataclasses
import enum
import importlib
import inspect
import json
import pkgutil
import re
import types
import typing
from pathlib import PurePath
from typing import Any

import annotated_types
from docutils import nodes
from docutils.statemachine import StringList
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles
from sphinx.util.typing import ExtensionMetadata

_LOGGER = logging.getLogger(__name__)

_CODE_SPAN = re.compile(r"`([^`]+)`")

# Bounds as pydantic's Field(ge=..., ...) records them, in the words the tables use.
_BOUNDS = (
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "<="),
    (annotated_types.Lt, "lt", "<"),
)


# -- Text helpers ---------------------------------------------------------------------------


def _type_text(annotation: Any) -> str:
    """Spell a type annotation the way a reader writes it (``Path | None``, ``int``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_text(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " | ".join(json.dumps(value) for value in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_text(arg) for arg in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_text(arg) for arg in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _value_text(value: Any) -> str:
    """Spell a default value as it would be written in TOML or an environment variable."""
    if value is None:
        return "unset"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _bounds_text(field: FieldInfo) -> str:
    """Describe a field's numeric bounds, e.g. ``>= 1, <= 65535``; empty if it has none."""
    parts = []
    for constraint in field.metadata:
        for kind, attribute, symbol in _BOUNDS:
            if isinstance(constraint, kind):
                parts.append(f"{symbol} {getattr(constraint, attribute)}")
    return ", ".join(parts)


def _choices(annotation: Any) -> list[str]:
    """List the values of an enum type, or of an optional enum; empty for other types."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return [str(member.value) for member in candidate]
    return []


def _inline(text: str) -> list[nodes.Node]:
    """Turn text with Markdown-style `code` spans into docutils inline nodes."""
    result: list[nodes.Node] = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        if match.start() > position:
            result.append(nodes.Text(text[position : match.start()]))
        result.append(nodes.literal(text=match.group(1)))
        position = match.end()
    if position < len(text):
        result.append(nodes.Text(text[position:]))
    return result


def _rst_inline(text: str) -> str:
    """Turn Markdown-style `code` spans into reStructuredText literals."""
    return _CODE_SPAN.sub(r"``\1``", text)


# -- Tables ---------------------------------------------------------------------------------

Cell = list[nodes.Node]


def _cell(content: Cell | str) -> nodes.entry:
    paragraph = nodes.paragraph()
    paragraph += _inline(content) if isinstance(content, str) else content
    entry = nodes.entry()
    entry += paragraph
    return entry


def _table(headers: list[str], rows: list[list[Cell | str]], widths: list[int]) -> nodes.table:
    """Build a table node; ``widths`` are relative column widths."""
    table = nodes.table(classes=["longtable"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    header_row = nodes.row()
    for header in headers:
        header_row += _cell(header)
    head += header_row
    body = nodes.tbody()
    group += body
    for values in rows:
        row = nodes.row()
        for value in values:
            row += _cell(value)
        body += row
    return table


def _literals(values: list[str], separator: str = ", ") -> Cell:
    cell: Cell = []
    for index, value in enumerate(values):
        if index:
            cell.append(nodes.Text(separator))
        cell.append(nodes.literal(text=value))
    return cell


# -- Directives -----------------------------------------------------------------------------


class SettingsTable(SphinxDirective):
    """Render every field of :class:`mlapi.settings.Settings` as a table row."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """Build the settings table."""
        from mlapi.settings import Settings

        prefix = Settings.model_config.get("env_prefix", "")
        rows: list[list[Cell | str]] = []
        for name, field in Settings.model_fields.items():
            variable: Cell = [
                nodes.literal(text=f"{prefix}{name}".upper()),
                nodes.Text(" / "),
                nodes.literal(text=name),
            ]
            choices = _choices(field.annotation)
            kind: Cell = (
                [nodes.Text("one of "), *_literals(choices)]
                if choices
                else [nodes.literal(text=_type_text(field.annotation))]
            )
            default: Cell = [
                nodes.literal(text=_value_text(field.get_default(call_default_factory=True)))
            ]
            description = _inline(field.description or "")
            bounds = _bounds_text(field)
            if bounds:
                description += [
                    nodes.Text(" Bounds: "),
                    nodes.literal(text=bounds),
                    nodes.Text("."),
                ]
            rows.append([variable, kind, default, description])
        return [
            _table(
                ["Environment variable / file key", "Type", "Default", "Description"],
                rows,
                [30, 18, 14, 38],
            )
        ]


class EstimatorsTable(SphinxDirective):
    """Render each algorithm of the catalogue and its hyperparameters."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """Build a heading and a hyperparameter table per algorithm."""
        from mlapi.ml.estimators import CATALOGUE, DEFAULT_ALGORITHM

        result: list[nodes.Node] = []
        for spec in CATALOGUE.values():
            heading = nodes.paragraph()
            heading += nodes.literal(text=spec.name)
            heading += nodes.Text(f" — {spec.title}")
            if spec.name == DEFAULT_ALGORITHM:
                heading += nodes.Text(" (the default algorithm)")
            heading += nodes.Text(". Hyperparameters (")
            heading += nodes.literal(text=spec.hyperparameters.__name__)
            heading += nodes.Text("):")
            result.append(heading)
            rows: list[list[Cell | str]] = []
            for name, field in spec.hyperparameters.model_fields.items():
                rows.append(
                    [
                        [nodes.literal(text=name)],
                        [nodes.literal(text=_type_text(field.annotation))],
                        [nodes.literal(text=_value_text(field.get_default()))],
                        [nodes.literal(text=bounds)] if (bounds := _bounds_text(field)) else "",
                    ]
                )
            result.append(_table(["Name", "Type", "Default", "Bounds"], rows, [30, 30, 15, 25]))
        return result


_OPENAPI: dict[str, Any] = {}


def _openapi_document() -> dict[str, Any]:
    """Return the REST app's OpenAPI document, built once per Sphinx run."""
    if not _OPENAPI:
        from mlapi.main import app

        _OPENAPI.update(app.openapi())
    return _OPENAPI


def _build_openapi_document(app: Sphinx) -> None:
    # Before any page is read: autodoc rewrites the __signature__ of the functions it
    # documents (autodoc_preserve_defaults), and FastAPI reads signatures to build the
    # document, so it must be built from the untouched objects.
    _openapi_document()


class RoutesTable(SphinxDirective):
    """Render every operation of the REST app's OpenAPI document as a table row."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """Build the routes table."""
        rows: list[list[Cell | str]] = []
        for path, operations in _openapi_document()["paths"].items():
            for method, operation in operations.items():
                description = operation.get("description") or operation.get("summary", "")
                statuses = sorted(code for code in operation["responses"] if code[0] in "45")
                rows.append(
                    [
                        method.upper(),
                        [nodes.literal(text=path)],
                        description.strip().splitlines()[0],
                        _literals(statuses) if statuses else "",
                    ]
                )
        return [_table(["Method", "Path", "Summary", "Problem statuses"], rows, [10, 22, 48, 20])]


class Submodules(SphinxDirective):
    """Emit a titled ``automodule`` for every module of a package, in name order.

    The titles use ``~`` underlines: put the directive where those are one level below
    the current section.
    """

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        """Parse the generated titles and directives in place."""
        package = importlib.import_module(self.arguments[0])
        lines: list[str] = []
        for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            name = f"{package.__name__}.{module.name}"
            title = f"``{name}``"
            lines += [title, "~" * len(title), "", f".. automodule:: {name}", ""]
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source=self.arguments[0]), container)
        return list(container.children)


# -- autodoc: fields of pydantic models, values of enums -------------------------------------


def _append_fields(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    _restore_annotated_metadata()
    if what != "class" or not isinstance(obj, type):
        return
    from mlapi.settings import Settings

    if obj is Settings:
        lines.extend(["", "Every field is listed, with its variable, in :doc:`/configuration`."])
    elif issubclass(obj, BaseModel) and obj.model_fields:
        lines.extend(["", ".. rubric:: Fields", ""])
        for field_name, field in obj.model_fields.items():
            entry = f"* ``{field_name}`` (``{_type_text(field.annotation)}``)"
            if field.description:
                entry += f" -- {_rst_inline(field.description)}"
            if not field.is_required():
                entry += (
                    f" Default: ``{_value_text(field.get_default(call_default_factory=True))}``."
                )
            bounds = _bounds_text(field)
            if bounds:
                entry += f" Bounds: ``{bounds}``."
            lines.append(entry)
    elif issubclass(obj, enum.Enum) and not dataclasses.is_dataclass(obj):
        values = ", ".join(f"``{member.value}``" for member in obj)
        lines.extend(["", f"Values: {values}."])


# Original annotations of the functions whose Annotated metadata is hidden while autodoc
# formats their signature, by id, to be put back right after.
_hidden_metadata: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _hide_annotated_metadata(app: Sphinx, obj: Any, bound_method: bool) -> None:
    """Show ``Annotated[T, ...]`` parameters of functions as plain ``T``.

    Route and CLI parameters carry FastAPI ``Depends(...)`` and typer ``Option(...)``
    objects as ``Annotated`` metadata, whose representations (with memory addresses)
    tell a reader nothing and change on every build. The metadata is hidden only while
    autodoc reads the signature, and :func:`_process_signature` restores it at once:
    FastAPI and typer read these annotations when they run.
    """
    if not inspect.isfunction(obj):
        return
    annotations = getattr(obj, "__annotations__", None)
    if not isinstance(annotations, dict) or id(annotations) in _hidden_metadata:
        return
    if not any(_is_annotated(value) for value in annotations.values()):
        return
    _hidden_metadata[id(annotations)] = (annotations, dict(annotations))
    for name, annotation in list(annotations.items()):
        if _is_annotated(annotation):
            annotations[name] = typing.get_args(annotation)[0]


def _is_annotated(annotation: Any) -> bool:
    origin: Any = typing.get_origin(annotation)
    return origin is typing.Annotated


def _restore_annotated_metadata() -> None:
    while _hidden_metadata:
        _, (annotations, original) = _hidden_metadata.popitem()
        annotations.clear()
        annotations.update(original)


def _process_signature(
    app: Sphinx,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str, str | None] | None:
    """Restore hidden annotations, and show settings classes as ``Settings(**values)``.

    Runs after autodoc has recorded the type hints. The real signature of a
    pydantic-settings class lists some thirty private ``_env_*`` and ``_cli_*`` options
    before the fields, and the fields have their own page.
    """
    _restore_annotated_metadata()
    from pydantic_settings import BaseSettings

    if what == "class" and isinstance(obj, type) and issubclass(obj, BaseSettings):
        return "(**values)", return_annotation
    return None


# -- Completeness: every public module is in the API reference ------------------------------


def _public_modules(package_name: str) -> set[str]:
    """Name every module of a package whose dotted path has no part starting with ``_``."""
    package = importlib.import_module(package_name)
    names = {package_name}
    for module in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
        # Alembic's env.py and migration scripts run on import; the package is documented.
        if module.name.startswith("mlapi.migrations."):
            continue
        if not any(part.startswith("_") for part in module.name.split(".")):
            names.add(module.name)
    return names


def _check_modules_documented(app: Sphinx, env: Any) -> None:
    """Warn about each public module of mlapi that no ``automodule`` documents.

    With ``-W`` the warning fails the build, so a new module cannot be left out of the
    API reference by accident.
    """
    documented = set(env.get_domain("py").modules)
    for name in sorted(_public_modules("mlapi") - documented):
        _LOGGER.warning(
            "public module %s is not in the API reference: add it to docs/api.rst",
            name,
            type="mlapi",
            subtype="undocumented-module",
        )


def setup(app: Sphinx) -> ExtensionMetadata:
    """Register the directives and the autodoc hook.

    Args:
        app: The Sphinx application.

    Returns:
        The extension's metadata.
    """
    app.add_directive("mlapi-settings", SettingsTable)
    app.add_directive("mlapi-estimators", EstimatorsTable)
    app.add_directive("mlapi-routes", RoutesTable)
    app.add_directive("mlapi-submodules", Submodules)
    app.connect("builder-inited", _build_openapi_document)
    app.connect("env-check-consistency", _check_modules_documented)
    app.connect("autodoc-process-docstring", _append_fields)
    app.connect("autodoc-before-process-signature", _hide_annotated_metadata)
    # After autodoc's own handler (priority 500), which records the type hints.
    app.connect("autodoc-process-signature", _process_signature, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
