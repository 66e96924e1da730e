"""Model files: skops archives that never execute code when loaded.

A model file holds a fitted estimator and its metadata. Loading first lists every type
the file names and refuses the file unless each is in an explicit allow-list given by the
caller, so a crafted file cannot make the loader import or call anything else.

The allow-list never comes from the file being loaded. When a model is trained, the
types of its own freshly written file are listed (:func:`file_types`) and recorded
beside it, in the registry, as the types that version may contain; loading that version
later allows those and no others. Files without such a record (the bundled model, a file
passed to :meth:`~mlapi.ml.IrisClassifier.load`) are loaded with
:data:`DEFAULT_TRUSTED_TYPES` unless the caller names others.

Writing is atomic: a temporary file in the same folder, fsync, rename.
"""

import hashlib
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable, Collection
from importlib import resources
from pathlib import Path
from typing import Any

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from mlapi.ml.errors import ModelFileError

#: Bumped when the layout of the saved dictionary changes.
FORMAT_VERSION = 1

#: One skops load at a time per process: CPython 3.11 before 3.11.8 can fail a load that
#: runs beside another in a thread ("AST constructor recursion depth mismatch",
#: python/cpython#106905). Loads are rare; waiting costs nothing that matters.
_LOADING = threading.Lock()

#: Types, beyond skops' own safe defaults, that files of decision trees and gradient
#: boosting (the article's two algorithms, and the bundled model) hold.
DEFAULT_TRUSTED_TYPES: tuple[str, ...] = ("sklearn.tree._tree.Tree",)

#: The packages whose types may ever be trusted, whatever a registry records: widening
#: trust takes a change to this code, not a row. A fork serving another library's
#: estimators adds that library here.
TRUSTABLE_PACKAGES: tuple[str, ...] = ("sklearn", "numpy", "scipy", "mlapi")


def bundled_model_bytes() -> bytes:
    """Read the pre-trained model file shipped inside the package.

    Returns:
        The file's bytes.
    """
    return resources.files("mlapi.ml").joinpath("model.skops").read_bytes()


def sha256_hex(data: bytes) -> str:
    """Hash bytes.

    Args:
        data: The bytes.

    Returns:
        The SHA-256 digest as 64 hexadecimal characters.
    """
    return hashlib.sha256(data).hexdigest()


def dumps(estimator: Any, metadata: dict[str, Any]) -> bytes:
    """Serialise a fitted estimator and its metadata.

    Args:
        estimator: A fitted scikit-learn classifier.
        metadata: Plain data (str, int, float, bool, None, lists and dicts of them).

    Returns:
        The model file's bytes.
    """
    payload = {"format": FORMAT_VERSION, "estimator": estimator, "metadata": metadata}
    # Deflated: a 300-stage gradient boosting model is 3.7 MB instead of 24 MB (its 900
    # trees are small arrays with a lot of repeated structure), and loads no slower.
    data: bytes = sio.dumps(payload, compression=zipfile.ZIP_DEFLATED)
    return data


def file_types(data: bytes) -> list[str]:
    """List the types a model file names beyond skops' own safe defaults.

    Only meaningful for a file this process has just written from an estimator it
    trained itself: what a file says of itself is never a reason to trust it.

    Args:
        data: The bytes of a file written by :func:`dumps`.

    Returns:
        The fully-qualified type names, sorted.

    Raises:
        ModelFileError: If the bytes are not a readable skops file.
    """
    try:
        return sorted(sio.get_untrusted_types(data=data))
    except Exception as error:
        raise ModelFileError(f"not a readable model file: {error!r}") from error


def check_trustable(types: Collection[str]) -> None:
    """Refuse to trust any type outside :data:`TRUSTABLE_PACKAGES`.

    Args:
        types: Fully-qualified type names someone asks to trust.

    Raises:
        ModelFileError: Naming each type that may never be trusted.
    """
    never = sorted(name for name in types if name.split(".", 1)[0] not in TRUSTABLE_PACKAGES)
    if never:
        raise ModelFileError(
            f"types that mlapi never trusts: {', '.join(never)} "
            f"(only those of {', '.join(TRUSTABLE_PACKAGES)})"
        )


#: What reads a model file's bytes into its estimator and metadata, as :func:`loads` does.
Reader = Callable[[bytes, Collection[str]], tuple[Any, dict[str, Any]]]


def loads(data: bytes, trusted: Collection[str]) -> tuple[Any, dict[str, Any]]:
    """Read a model file's bytes without executing code from them.

    Args:
        data: The bytes of a file written by :func:`dumps`.
        trusted: Fully-qualified type names the file may hold beyond skops' defaults:
            those recorded when it was trained, never read from the file itself.

    Returns:
        The fitted estimator and its metadata.

    Raises:
        ModelFileError: If ``trusted`` names a type of a package never trusted, the file
            names a type not in ``trusted``, is corrupt or truncated, or holds no model.
    """
    check_trustable(trusted)
    try:
        # skops lists the file's types and refuses any outside the allow-list before it
        # builds a single object.
        with _LOADING:
            payload = sio.loads(data, trusted=sorted(trusted))
    except UntrustedTypesFoundException as error:
        refused = ", ".join(sorted(set(file_types(data)) - set(trusted)))
        raise ModelFileError(f"model file names untrusted types, refused: {refused}") from error
    except Exception as error:
        raise ModelFileError(f"not a readable model file: {error!r}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise ModelFileError("file does not hold an mlapi model of a known format")
    estimator, metadata = payload.get("estimator"), payload.get("metadata")
    if not hasattr(estimator, "predict_proba") or not isinstance(metadata, dict):
        raise ModelFileError("model file lacks a classifier or its metadata")
    return estimator, metadata


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see either the old content or the new, never a part.

    Args:
        path: Destination; its folder is created if missing.
        data: The full content.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp's 0600 would hide it from other users
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
