"""Request and response bodies of the REST API (pydantic, at the boundary only)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AllowInfNan, BaseModel, ConfigDict, Field, Strict

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
                    "model_version": "3f2a9c81d0b4",
                }
            ]
        }
    )

    labels: list[str] = Field(description="Name of the predicted class of each row.")
    model_version: str = Field(description="Identifier of the model that answered.")


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


class ModelResponse(BaseModel):
    """The model serving now."""

    version: str = Field(description="Short identifier: the first 12 hex digits of checksum.")
    checksum: str = Field(description="SHA-256 of the model file.")
    algorithm: str
    hyperparameters: dict[str, Any]
    feature_names: list[str]
    class_names: list[str]
    trained_at: datetime
    training_rows: int
    accuracy: float = Field(description="Accuracy on the held-out split.")
    evaluation: EvaluationResponse
    mlapi_version: str


class HealthResponse(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "ready"]
    model_version: str | None = None


class ProblemDetail(BaseModel):
    """One offending part of a request."""

    detail: str = Field(description="What is wrong with it.")
    pointer: str | None = Field(
        default=None, description="JSON Pointer (as a URI fragment) into the request body."
    )
    parameter: str | None = Field(default=None, description="Offending query parameter.")
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
