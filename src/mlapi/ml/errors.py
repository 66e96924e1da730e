"""Domain exceptions raised by the machine-learning layer.

They speak of what a caller of :mod:`mlapi.ml` passed in: rows and columns of a feature
matrix, hyperparameters by name, an algorithm. The web layer turns each into an HTTP
problem response in one place (``api/errors.py``), adding the request field it came
from; nothing here knows about HTTP.
"""

from dataclasses import dataclass, field
from enum import StrEnum


class Input(StrEnum):
    """The input of an operation that a :class:`FieldError` is about."""

    ROWS = "rows"
    """Rows of features to predict; locations are ``(row,)`` or ``(row, column)``."""
    HYPERPARAMETERS = "hyperparameters"
    """Hyperparameters of an algorithm; locations start with the hyperparameter's name."""
    ALGORITHM = "algorithm"
    """The name of an algorithm."""
    DATASET = "dataset"
    """The data set to train on; locations name its part (``url``, ``name``)."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one part of an input.

    Attributes:
        input: Which input is at fault.
        location: Where inside it, counted from 0: ``(3, 1)`` is row 3, column 1 of the
            rows; ``("max_depth",)`` a hyperparameter; ``()`` the input as a whole.
        message: What is wrong with it, for a human.
        kind: A short machine-readable code, e.g. ``"wrong_width"``.
    """

    input: Input
    location: tuple[str | int, ...]
    message: str
    kind: str

    def __str__(self) -> str:
        if self.input is Input.ROWS and self.location:
            where = ", ".join(
                f"{name} {index}"
                for name, index in zip(("row", "column"), self.location, strict=False)
            )
        else:
            where = "/".join(map(str, self.location)) or str(self.input)
        return f"{where}: {self.message}"


class MlapiError(Exception):
    """Base class of every error mlapi raises on purpose."""


@dataclass
class InvalidInputError(MlapiError, ValueError):
    """Input rows or hyperparameters that a model cannot accept.

    Attributes:
        message: A one-line summary.
        errors: Each offending part with what is wrong with it.
    """

    message: str
    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        details = "; ".join(map(str, self.errors))
        return f"{self.message} ({details})" if details else self.message


class ModelFileError(MlapiError):
    """A model file that cannot be trusted or read: unknown types, corrupt or truncated."""


class DownloadError(MlapiError):
    """A download refused or failed: bad scheme, too large, too slow, or wrong checksum."""


class DatasetError(MlapiError):
    """A data set package refused or unreadable: unsafe archive, bad descriptor, bad CSV.

    Args:
        message: What is wrong, in one line.
        problems: Each bad value of the CSV, naming its row and field; they are
            appended to the message.

    Attributes:
        message: As given.
        problems: As given.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.message = message
        self.problems = problems or []
        super().__init__(f"{message}: {'; '.join(self.problems)}" if self.problems else message)
