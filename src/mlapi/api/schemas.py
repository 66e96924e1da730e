"""Request bodies of the REST API, and the responses that are its own (pydantic, at the boundary).

Model versions, jobs, pages and health are answered with the service layer's records
(:mod:`mlapi.serving.records`) as they are; what is here is what only HTTP needs: the
request bodies, the article's prediction answer, and problem details.
"""

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)

from mlapi.ml.estimators import CATALOGUE, EstimatorSpec
from mlapi.serving.records import MAX_INTEGER, TrainingOrder

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


class TrainingOptions(BaseModel):
    """What every training request may say; each algorithm's request adds its own fields."""

    model_config = ConfigDict(extra="forbid")

    algorithm: str | None
    hyperparameters: BaseModel | dict[str, Any]
    test_size: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="Share of rows held out for evaluation; the configured one if omitted.",
    )
    random_state: int | None = Field(
        default=None,
        ge=0,
        le=MAX_INTEGER,
        description="Seed of the held-out split; the configured one if omitted.",
    )
    activate: bool = Field(default=True, description="Activate the new version on success.")

    def order(self) -> TrainingOrder:
        """Say what to train, in the service layer's words.

        Returns:
            The algorithm, the hyperparameters the request gave (the configured and the
            catalogue's defaults fill in the rest), the split and whether to activate.
        """
        given = self.hyperparameters
        return TrainingOrder(
            algorithm=self.algorithm,
            hyperparameters=given.model_dump(exclude_unset=True)
            if isinstance(given, BaseModel)
            else given,
            test_size=self.test_size,
            random_state=self.random_state,
            activate=self.activate,
        )


class DefaultAlgorithmTraining(TrainingOptions):
    """Train the configured default algorithm (``MLAPI_DEFAULT_ALGORITHM``)."""

    algorithm: None = Field(default=None, description="Omitted (or null): the configured default.")
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Hyperparameters of the configured default algorithm, over its "
        "configured defaults; checked against its entry in the catalogue.",
    )


def _algorithm_training(spec: EstimatorSpec) -> type[TrainingOptions]:
    name = "".join(part.title() for part in spec.name.split("_")) + "Training"
    return create_model(
        name,
        __base__=TrainingOptions,
        __doc__=f"Train {spec.title.lower()} (``{spec.name}``).",
        algorithm=(Literal[spec.name], Field(description="The algorithm.")),  # type: ignore[arg-type]
        hyperparameters=(
            spec.hyperparameters,
            Field(
                default_factory=spec.hyperparameters,
                description="Hyperparameters over the configured defaults; the "
                "catalogue's defaults (shown) fill in the rest.",
            ),
        ),
    )


#: Tag of the request that names no algorithm.
_DEFAULT_TAG = "default"

_ALGORITHM_REQUESTS = {name: _algorithm_training(spec) for name, spec in CATALOGUE.items()}


def _algorithm_tag(body: Any) -> Any:
    algorithm = body.get("algorithm") if isinstance(body, dict) else None
    return _DEFAULT_TAG if algorithm is None else algorithm


def _untagged(body: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Report errors at the fields of the body, not under the union's tag."""
    try:
        return handler(body)
    except ValidationError as error:
        details: list[Any] = []
        for detail in error.errors():
            if detail["type"] == "union_tag_invalid":
                expected = re.sub(r", ([^,]+)$", r" or \1", ", ".join(map(repr, CATALOGUE)))
                details.append(
                    {
                        "type": "enum",
                        "loc": ("algorithm",),
                        "input": detail["ctx"]["tag"],
                        "ctx": {"expected": expected},
                    }
                )
            else:
                details.append(
                    {key: detail[key] for key in ("type", "input", "ctx") if key in detail}
                    | {"loc": detail["loc"][1:]}
                )
        raise ValidationError.from_exception_data(error.title, details) from None


if TYPE_CHECKING:
    TrainRequest = TrainingOptions
else:
    TrainRequest = Annotated[
        Union[  # noqa: UP007 - a union built from the catalogue at import
            tuple(
                Annotated[request, Tag(tag)]
                for tag, request in {
                    _DEFAULT_TAG: DefaultAlgorithmTraining,
                    **_ALGORITHM_REQUESTS,
                }.items()
            )
        ],
        Discriminator(_algorithm_tag),
        WrapValidator(_untagged),
    ]
"""What to train: an algorithm of the catalogue with its own hyperparameters (their types
and bounds are each algorithm's), or no algorithm for the configured default."""


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
