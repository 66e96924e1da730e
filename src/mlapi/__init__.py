"""mlapi: train, version and serve a machine-learning model as a REST service."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlapi")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
