"""The records every front gets from the service layer: plain dataclasses and enums.

Each record is declared once, here. The REST API answers with them as they are (their
attribute docstrings become the OpenAPI descriptions), the CLI prints them, the
database rows in :mod:`mlapi.serving.tables` are copied into them by field name, and
the CLI's HTTP client reads them back from JSON.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, computed_field

from mlapi.ml.described import described
from mlapi.ml.evaluation import Evaluation

#: Largest version number, seed or offset accepted: the registry stores them as SQL
#: ``INTEGER``, 32 bits on PostgreSQL; a larger one would fail in the database.
MAX_INTEGER = 2**31 - 1


class JobState(StrEnum):
    """Life cycle of a training job: queued, running, then succeeded, failed or cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: The name of a data set: lower case letters, digits, ``.``, ``_`` and ``-``.
DatasetName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=100)]


@described
@dataclass(frozen=True)
class DatasetSource:
    """Where a data set comes from: a data package's URL, or a data set's name."""

    url: Annotated[str | None, Field(max_length=2000, pattern=r"^(?i:https?|file)://")] = None
    """Address of a ``.zip`` or ``.tar.gz`` data package (``http``, ``https``, or
    ``file`` where the server allows it)."""
    sha256: Annotated[str | None, Field(pattern=r"^[0-9a-fA-F]{64}$")] = None
    """Expected SHA-256 of the package file, checked before it is opened."""
    name: DatasetName | None = None
    """A bundled data set (``iris``) or one fetched before, instead of a URL."""

    def __post_init__(self) -> None:
        if (self.url is None) == (self.name is None):
            raise ValueError("give either a url or a name")
        if self.sha256 is not None and self.url is None:
            raise ValueError("sha256 goes with a url")


@described
@dataclass(frozen=True)
class TrainingOrder:
    """What a front asks to train; what it leaves out, the configuration decides."""

    algorithm: str | None = None
    """Algorithm of the catalogue; the configured default if None."""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    """Hyperparameters over the configured defaults of the algorithm."""
    test_size: Annotated[float | None, Field(gt=0, lt=1)] = None
    """Share of rows held out for evaluation; the configured one if None."""
    random_state: Annotated[int | None, Field(ge=0, le=MAX_INTEGER)] = None
    """Seed of the held-out split; the configured one if None."""
    activate: bool = True
    """Whether to activate the new version once registered."""
    dataset: DatasetSource | DatasetName | None = None
    """The data set to train on: a package URL (and its SHA-256), or a data set's name;
    the configured default if None."""


@described
@dataclass(frozen=True)
class TrainingSpec:
    """What a training job trains, with every default resolved."""

    algorithm: str
    """Algorithm of the catalogue."""
    hyperparameters: dict[str, Any]
    """Its hyperparameters, validated, defaults filled in."""
    test_size: float
    """Share of rows held out for evaluation."""
    random_state: int
    """Seed of the held-out split."""
    activate: bool
    """Whether the new version is activated once registered."""
    created_by: str
    """Who asked for it."""
    dataset: DatasetSource
    """The data set it trains on."""


@described
@dataclass(frozen=True)
class TrainingJob(TrainingSpec):
    """A training job and what became of it."""

    id: str
    """Its identifier (a UUID)."""
    state: JobState
    """Queued, running, succeeded, failed or cancelled."""
    progress: float
    """Share of the training done, from 0 to 1."""
    created_at: datetime
    """When it was queued."""
    started_at: datetime | None
    """When training began."""
    finished_at: datetime | None
    """When it succeeded, failed or was cancelled."""
    model_version: int | None
    """The version it registered, once it has."""
    error: str | None
    """Why it failed, or who cancelled it."""
    request_id: str | None = None
    """The id of the HTTP request that queued it (its ``X-Request-ID``), which the log
    lines of the job carry too; None for a job queued otherwise."""

    @property
    def finished(self) -> bool:
        """Whether the job has succeeded, failed or been cancelled."""
        return self.state in {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}


@described
@dataclass(frozen=True)
class ModelVersion:
    """A registered model version: immutable, but for whether it is the active one."""

    version: int
    """Version number, increasing with each registration."""
    active: bool
    """Whether this was the registry's active version when it was read."""
    algorithm: str
    """Algorithm of the catalogue it was trained with."""
    hyperparameters: dict[str, Any]
    """The hyperparameters it was trained with."""
    dataset_name: str
    """The data set it was trained on."""
    dataset_checksum: str
    """SHA-256 of the training data set's features and classes."""
    dataset_url: str | None
    """Where the data set's package was fetched from; None for a bundled data set."""
    dataset_sha256: str | None
    """SHA-256 of the data set's package file; None for a bundled data set."""
    feature_names: list[str]
    """Its input columns, in order."""
    feature_types: list[str]
    """Type of each input column: ``number``, ``integer`` or ``string`` (categorical)."""
    class_names: list[str]
    """Its classes, in order."""
    metrics: Evaluation
    """Held-out evaluation."""
    training_seconds: float
    """How long fitting took."""
    created_by: str
    """Who or what registered it."""
    created_at: datetime
    """When it was registered."""
    checksum: str
    """SHA-256 of the model file, checked on every load."""
    libraries: dict[str, str] | None
    """Versions of Python and of the libraries that trained it (``python``,
    ``scikit-learn``, ``skops``, ``numpy``, ``scipy``), compared with the server's when it
    is loaded; None for a version registered before mlapi recorded them."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accuracy(self) -> float:
        """Accuracy on the held-out split."""
        return self.metrics.accuracy


@described
@dataclass(frozen=True)
class AlgorithmEntry:
    """An algorithm of the catalogue, as a training form needs it."""

    name: str
    """Its identifier, the ``algorithm`` of a training request."""
    title: str
    """Its human-readable name."""
    default: bool
    """Whether a training request that names no algorithm trains it."""
    hyperparameters: dict[str, Any]
    """JSON Schema of its hyperparameters: types, bounds and the catalogue's defaults."""
    defaults: dict[str, Any]
    """The hyperparameters a request that gives none trains with (configured defaults
    over the catalogue's)."""


@described
@dataclass(frozen=True)
class ActiveState:
    """Which version is active, and a counter bumped by every activation."""

    version: int
    """The active version's number."""
    generation: int
    """Increases with every activation, even of the same version."""
    activated_at: datetime
    """When it was activated."""


@described
@dataclass(frozen=True)
class Activation:
    """One past activation."""

    version: int
    """The version activated."""
    activated_at: datetime
    """When."""
    activated_by: str
    """Who or what activated it."""


class AuditOutcome(StrEnum):
    """What came of an audited request."""

    SUCCEEDED = "succeeded"
    DENIED = "denied"
    """Refused for want of a valid key or of a large enough scope (401, 403)."""
    REJECTED = "rejected"
    """Refused for the request itself: invalid, too many, no such version (other 4xx)."""
    FAILED = "failed"
    """The server failed (5xx)."""


@described
@dataclass(frozen=True)
class AuditEvent:
    """One model-changing request, or one request whose key was refused."""

    at: datetime
    """When it was answered (UTC)."""
    action: str
    """``train``, ``cancel``, ``activate``, ``delete``, or ``access`` for a refused key
    elsewhere."""
    outcome: AuditOutcome
    """What came of it."""
    status: int
    """The HTTP status answered."""
    method: str
    """The HTTP method."""
    path: str
    """The path asked for, without the query string."""
    key_name: str | None = None
    """Name of the configured key used; never the key. None without a valid key."""
    source: str | None = None
    """The client's address, as the server saw it."""
    target: str | None = None
    """The version (``version 3``) or job (``job <id>``) acted on, when known."""
    detail: str | None = None
    """Why it was refused, for refusals."""
    id: int | None = None
    """Position in the log; None until recorded."""


@described
@dataclass(frozen=True)
class Page:
    """A page of a listing, newest first."""

    items: Sequence[object]
    """The items of this page."""
    total: int
    """Number of items in all."""
    limit: int
    """Most items asked for."""
    offset: int
    """Items skipped before this page."""


@described
@dataclass(frozen=True)
class ModelVersionPage(Page):
    """A page of model versions, newest first."""

    items: list[ModelVersion]


@described
@dataclass(frozen=True)
class JobPage(Page):
    """A page of training jobs, newest first."""

    items: list[TrainingJob]


@described
@dataclass(frozen=True)
class AuditPage(Page):
    """A page of the audit log, newest first."""

    items: list[AuditEvent]


@described
@dataclass(frozen=True)
class Predictions:
    """Predictions for a batch of rows, and the model version that made them."""

    prediction: list[int]
    """Predicted class of each row."""
    probability: list[list[float]]
    """Probability of each class, per row."""
    labels: list[str]
    """Name of the predicted class of each row."""
    model_version: int
    """Version of the model that answered."""


@dataclass(frozen=True)
class ServedExample:
    """The model a process serves, shown by example: a row it takes, and its answer."""

    version: ModelVersion
    """The version served."""
    row: list[Any]
    """One value per feature, in column order: a row of its data set where one is known."""
    placeholder: bool
    """Whether ``row`` holds placeholders of each feature's type instead (no row known)."""
    answer: Predictions
    """What the model answers to ``row``."""


@dataclass(frozen=True)
class ArrayPredictions:
    """Predictions for a matrix of rows, as arrays, for a front that writes them itself."""

    prediction: np.ndarray
    """Predicted class of each row."""
    probability: np.ndarray
    """Probability of each class, per row."""
    labels: list[str] | None
    """Name of the predicted class of each row, if asked for."""
    model_version: int
    """Version of the model that answered."""


@described
@dataclass(frozen=True)
class Health:
    """Liveness or readiness of the service."""

    status: Literal["ok", "ready", "degraded"]
    """``ok`` while the process answers; ``ready`` once a model is loaded; ``degraded``
    while it serves another version than the active one, whose file it refused."""
    model_version: int | None = None
    """The version served, once ready."""
