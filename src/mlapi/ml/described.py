"""Dataclass fields described by their attribute docstrings, for pydantic and the OpenAPI document.

The records the service answers with (:mod:`mlapi.serving.records`, and the evaluation in
:mod:`mlapi.ml.evaluation`) document each field with a docstring under it, as Sphinx
reads them. :func:`described` hands those to pydantic as the fields' descriptions, so
the OpenAPI document says what the API reference says.
"""

import ast
import dataclasses
import inspect
import itertools
import textwrap
from types import MappingProxyType
from typing import TypeVar

RecordType = TypeVar("RecordType", bound=type)


def _attribute_docstrings(cls: type) -> dict[str, str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):  # no source (a frozen build): no descriptions
        return {}
    body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
    return {
        statement.target.id: inspect.cleandoc(following.value.value)
        for statement, following in itertools.pairwise(body)
        if isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and isinstance(following, ast.Expr)
        and isinstance(following.value, ast.Constant)
        and isinstance(following.value.value, str)
    }


def described(cls: RecordType) -> RecordType:
    """Give each field of a dataclass its attribute docstring as its description.

    Pydantic takes a field's description from its metadata, and so the OpenAPI document
    says what the API reference says, including for fields a record inherits (pydantic's
    own reading of attribute docstrings sees only the class it builds).

    Args:
        cls: A dataclass whose fields are followed by their docstrings.

    Returns:
        The same class.
    """
    docs: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        if dataclasses.is_dataclass(base):
            docs.update(_attribute_docstrings(base))
    for each in dataclasses.fields(cls):
        if each.name in docs and "description" not in each.metadata:
            each.metadata = MappingProxyType({**each.metadata, "description": docs[each.name]})
    return cls
