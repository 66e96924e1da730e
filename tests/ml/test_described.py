"""Dataclass fields described by their docstrings, inherited ones included."""

import dataclasses
from dataclasses import dataclass

from pydantic import TypeAdapter

from mlapi.ml.described import described


@described
@dataclass(frozen=True)
class _Base:
    size: int
    """How many."""


@described
@dataclass(frozen=True)
class _Derived(_Base):
    name: str
    """What it is called."""
    plain: bool = False


def _descriptions(kind: type) -> dict[str, str | None]:
    properties = TypeAdapter(kind).json_schema()["properties"]
    return {name: schema.get("description") for name, schema in properties.items()}


def test_each_field_is_described_by_the_docstring_under_it() -> None:
    assert _descriptions(_Base) == {"size": "How many."}


def test_a_derived_record_describes_its_inherited_fields_too() -> None:
    assert _descriptions(_Derived) == {
        "size": "How many.",
        "name": "What it is called.",
        "plain": None,
    }


def test_the_description_is_the_fields_metadata_and_the_class_is_unchanged_otherwise() -> None:
    fields = {field.name: field for field in dataclasses.fields(_Derived)}

    assert fields["name"].metadata["description"] == "What it is called."
    assert _Derived(3, "x") == _Derived(size=3, name="x", plain=False)
