"""Domain exceptions raised by the machine-learning layer.

The web layer turns each of these into an HTTP problem response in one place
(:mod:`mlapi.api.errors`); nothing here knows about HTTP.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One problem with one part of an input.

    Attributes:
        location: Path to the offending value, e.g. ``("data", 3, 1)``.
        message: What is wrong with it, for a human.
        kind: A short machine-readable code, e.g. ``"wrong_width"``.
    """

    location: tuple[str | int, ...]
    message: str
    kind: str


class MlapiError(Exception):
    """Base class of every error mlapi raises on purpose."""


@dataclass
class InvalidInputError(MlapiError, ValueError):
    """Input rows or hyperparameters that a model cannot accept.

    Attributes:
        message: A one-line summary.
        errors: Each offending field with what is wrong with it.
    """

    message: str
    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        details = "; ".join(f"{'/'.join(map(str, e.location))}: {e.message}" for e in self.errors)
        return f"{self.message} ({details})" if details else self.message


class ModelFileError(MlapiError):
    """A model file that cannot be trusted or read: unknown types, corrupt or truncated."""


class DownloadError(MlapiError):
    """A download refused or failed: bad scheme, too large, too slow, or wrong checksum."""
