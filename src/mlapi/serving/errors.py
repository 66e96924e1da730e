"""Domain exceptions of the service layer; each front says them in its own words.

The REST API maps each to a problem response in one place (``api/errors.py``); the CLI
prints its message.
"""

from mlapi.ml.errors import MlapiError


class ModelNotReadyError(MlapiError):
    """The service is still starting: no model is loaded yet."""


class ModelVersionNotFoundError(MlapiError):
    """No model version has that number."""


class VersionInUseError(MlapiError):
    """The version is active and cannot be deleted."""


class JobNotFoundError(MlapiError):
    """No training job has that id."""


class JobFinishedError(MlapiError):
    """The training job already succeeded, failed or was cancelled: it cannot be cancelled."""


class TrainingFailedError(MlapiError):
    """A training job that a caller waited for failed."""


class TrainingCancelledError(TrainingFailedError):
    """A training job that a caller waited for was cancelled."""


class QueueFullError(MlapiError):
    """As many training jobs as allowed are already waiting to run."""


class StorageFullError(MlapiError):
    """A new model file would pass the model store's quota or fill its disk."""


class ModelStoreError(MlapiError):
    """The model store cannot be reached, or refuses this server (address, bucket, keys).

    Unlike :class:`~mlapi.ml.errors.ModelFileError`, nothing is wrong with the files: the
    same request may succeed once the store is back.
    """
