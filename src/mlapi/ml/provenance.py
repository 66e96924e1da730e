"""Which library versions made a model file, and whether this process should load it.

Training records the versions of Python and of the libraries whose objects a model file
holds (:func:`library_versions`), in the file's metadata and in the registry. Loading
compares that record with this process's versions, library by library, as closely as
each one's compatibility promises demand (:data:`LIBRARIES`):

- **scikit-learn, exactly.** scikit-learn supports loading an estimator only with the
  version that saved it, and itself warns (``InconsistentVersionWarning``) on any other:
  a fitted estimator's attributes change between releases, patch releases included.
- **skops, exactly.** It decides what a file's objects become and which types it trusts
  by default, and the trusted types recorded for a version are those beyond the
  defaults of the skops that wrote it; its releases (0.x) change both.
- **numpy and scipy, the major version.** Each keeps the objects it saves loadable
  within a major version; a major release may move the modules that saved objects name
  (numpy 2 renamed ``numpy.core`` to ``numpy._core``) or change their layout.
- **Python: recorded, not compared.** A skops file holds no bytecode and no pickle of
  Python's own; the interpreter's version changes nothing in how it is read, and the
  compiled libraries that do change with it are compared by their own versions.

A file whose record is missing (written before mlapi recorded it) is of unknown
provenance. :func:`check_libraries` warns or refuses, as the caller's
:class:`LibraryMismatch` says.
"""

import contextlib
import functools
import logging
import platform
from collections.abc import Mapping
from enum import StrEnum
from importlib import metadata
from typing import Any

from mlapi.ml.errors import ModelFileError

logger = logging.getLogger(__name__)

#: The libraries recorded with a model, by distribution name, and how many leading parts
#: of each one's version must match: all of them if None, none (recorded only) if 0. A
#: fork whose estimators come from another library adds it here.
LIBRARIES: dict[str, int | None] = {
    "python": 0,
    "scikit-learn": None,
    "skops": None,
    "numpy": 1,
    "scipy": 1,
}


class LibraryMismatch(StrEnum):
    """What loading a model file made by other library versions does."""

    WARN = "warn"
    """Log a warning naming the libraries that differ, and load it."""
    REFUSE = "refuse"
    """Refuse it with a :class:`~mlapi.ml.errors.ModelFileError`."""


def library_versions() -> dict[str, str]:
    """The versions this process runs of each library of :data:`LIBRARIES` installed.

    Returns:
        Version by name, e.g. ``{"python": "3.11.7", "scikit-learn": "1.9.1", ...}``.
    """
    return dict(_installed())


@functools.cache  # read once: reading packages' metadata takes milliseconds
def _installed() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        if name == "python":
            continue
        # A fork's optional library may be missing here: it is then not recorded.
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def differences(recorded: Mapping[str, Any], current: Mapping[str, str]) -> list[str]:
    """Describe each library whose recorded version differs from this one enough to matter.

    Args:
        recorded: Versions by name that made a model; libraries it does not name, or
            that :data:`LIBRARIES` does not know, are not compared.
        current: Versions by name here, as :func:`library_versions` gives them.

    Returns:
        One phrase per differing library, e.g. ``scikit-learn 1.5.2 (here 1.9.1)``.
    """
    found = []
    for name, parts in LIBRARIES.items():
        made_with = recorded.get(name)
        if made_with is None or parts == 0:
            continue
        here = current.get(name)
        if here is None:
            found.append(f"{name} {made_with} (not installed here)")
        elif _leading(str(made_with), parts) != _leading(here, parts):
            found.append(f"{name} {made_with} (here {here})")
    return found


def _leading(version: str, parts: int | None) -> list[str]:
    return version.split(".")[:parts]


def check_libraries(
    recorded: Any, policy: LibraryMismatch | None, what: str = "model file"
) -> None:
    """Warn about, or refuse, a model made by library versions that differ from these.

    Args:
        recorded: Versions by name that made it, from a record the caller trusts (the
            registry's for a registered version, the file's own for another file);
            None or empty if unknown, which counts as a difference.
        policy: Whether a difference is logged (and the model loaded) or refused; None
            compares nothing.
        what: The model, for messages: ``model version 3``, ``model file``.

    Raises:
        ModelFileError: If ``policy`` refuses and the versions differ or are unknown.
    """
    if policy is None:
        return
    if isinstance(recorded, Mapping) and recorded:
        found = differences(recorded, library_versions())
        if not found:
            return
        problem = f"{what} was made by other library versions: {'; '.join(found)}"
    else:
        problem = f"{what} has no record of the library versions that made it"
    if policy is LibraryMismatch.REFUSE:
        raise ModelFileError(f"{problem}; refused (retrain it with these versions)")
    logger.warning("%s; loading it anyway", problem)
