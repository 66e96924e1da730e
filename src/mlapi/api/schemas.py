"""Request and response bodies of the REST API (pydantic, at the boundary only)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AllowInfNan, BaseModel, ConfigDict, Field, Strict

from mlapi.ml.estimators import Algorithm
from mlapi.serving.tables import JobState

#: Largest version number, seed or offset accepted: the registry stores them as SQL
#: ``INTEGER``, 32 bits on PostgreSQL; a larger one would fail in the database.
MAX_INTEGER = 2**31 - 1

#: A finite JSON number (not a string, boolean, NaN or Infinity).
FiniteFloat = Annotated[float, Strict(), AllowInfNan(False)]

#: One observation, with a value per feature of the active model.
Row = Annotated[list[FiniteFloat], Field(min_length=1)]


class IrisPredictionInput(BaseModel):
    """Rows to classify: the article's request body.

    Each row holds one value per feature of the active model (four for Iris: sepal
    length and width, petal length and width, in cm).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}]},
    )

    data: list[Row] = Field(min_length=1, description="Observations, one row each.")


class PredictionRequest(IrisPredictionInput):
    """Rows to classify, and optionally which model version should answer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"data": [[5.1, 3.5, 1.4, 0.2]], "model_version": 1}]},
    )

    model_version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_INTEGER,
        description="A registered version; the active one if omitted.",
    )


class IrisPredictionResponse(BaseModel):
    """The article's prediction answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"prediction": [0, 2], "probability": [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]}]
        }
    )

    prediction: list[int] = Field(description="Predicted class of each row.")
    probability: list[list[float]] = Field(description="Probability of each class, per row.")


class PredictionResponse(IrisPredictionResponse):
    """A prediction answer with class names and the model that made it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "prediction": [0],
                    "probability": [[1.0, 0.0, 0.0]],
                    "labels": ["setosa"],
                    "model_version": 3,
                }
            ]
        }
    )

    labels: list[str] = Field(description="Name of the predicted class of each row.")
    model_version: int = Field(description="Version of the model that answered.")


class ClassMetricsResponse(BaseModel):
    """Held-out metrics of one class."""

    precision: float
    recall: float
    f1: float
    support: int


class EvaluationResponse(BaseModel):
    """Held-out metrics of a model."""

    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassMetricsResponse]
    confusion_matrix: list[list[int]]
    test_rows: int


class ModelVersionResponse(BaseModel):
    """A registered model version."""

    version: int = Field(description="Version number, increasing with each registration.")
    active: bool = Field(description="Whether this is the registry's active version.")
    algorithm: str
    hyperparameters: dict[str, Any]
    dataset_name: str
    dataset_checksum: str = Field(description="SHA-256 of the training data set.")
    feature_names: list[str]
    class_names: list[str]
    accuracy: float = Field(description="Accuracy on the held-out split.")
    metrics: EvaluationResponse = Field(description="Held-out evaluation.")
    training_seconds: float
    created_by: str
    created_at: datetime
    checksum: str = Field(description="SHA-256 of the model file, checked on every load.")


class ModelVersionPage(BaseModel):
    """A page of model versions, newest first."""

    items: list[ModelVersionResponse]
    total: int = Field(description="Number of versions in all.")
    limit: int
    offset: int


class TrainRequest(BaseModel):
    """What to train: an algorithm of the catalogue and its hyperparameters."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "algorithm": "gradient_boosting",
                    "hyperparameters": {"n_estimators": 50, "learning_rate": 0.2},
                    "test_size": 0.2,
                    "random_state": 0,
                    "activate": True,
                }
            ]
        },
    )

    algorithm: Algorithm | None = Field(
        default=None, description="Algorithm; the configured default if omitted."
    )
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict, description="Hyperparameters over the configured defaults."
    )
    test_size: float | None = Field(
        default=None, gt=0, lt=1, description="Share of rows held out for evaluation."
    )
    random_state: int | None = Field(
        default=None, ge=0, le=MAX_INTEGER, description="Seed of the split."
    )
    activate: bool = Field(default=True, description="Activate the new version on success.")


class JobResponse(BaseModel):
    """A training job and what became of it."""

    id: str
    state: JobState
    progress: float = Field(description="Share of the training done, from 0 to 1.")
    algorithm: str
    hyperparameters: dict[str, Any]
    test_size: float
    random_state: int
    activate: bool
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    model_version: int | None = Field(description="The version it registered, once it has.")
    error: str | None = Field(description="Why it failed.")


class JobPage(BaseModel):
    """A page of training jobs, newest first."""

    items: list[JobResponse]
    total: int
    limit: int
    offset: int


class HealthResponse(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "ready"]
    model_version: int | None = None


class ProblemDetail(BaseModel):
    """One offending part of a request."""

    detail: str = Field(description="What is wrong with it.")
    pointer: str | None = Field(
        default=None, description="JSON Pointer (as a URI fragment) into the request body."
    )
    parameter: str | None = Field(default=None, description="Offending query or path parameter.")
    header: str | None = Field(default=None, description="Offending header.")
    type: str = Field(description="Machine-readable kind of error, e.g. `finite_number`.")


class Problem(BaseModel):
    """An error, as ``application/problem+json`` (RFC 9457)."""

    type: str = Field(description="URI naming the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="What went wrong with this request.")
    instance: str | None = Field(default=None, description="Path of the request.")
    errors: list[ProblemDetail] | None = Field(
        default=None, description="Each offending field, where the problem is with fields."
    )
