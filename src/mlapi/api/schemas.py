"""Request bodies of the REST API, and the responses that are its own (pydantic, at the boundary).

Model versions, jobs, pages and health are answered with the service layer's records
(:mod:`mlapi.serving.records`) as they are; what is here is what only HTTP needs: the
request bodies, the article's prediction answer, and problem details.
"""

import dataclasses
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_type_hints

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
from pydantic_core import PydanticCustomError

from mlapi.ml.estimators import CATALOGUE, EstimatorSpec
from mlapi.serving.records import MAX_INTEGER, DatasetName, DatasetSource, TrainingOrder

#: A finite JSON number (not a string, boolean, NaN or Infinity).
FiniteFloat = Annotated[float, Strict(), AllowInfNan(False)]

#: One observation, with a value per feature of the active model.
Row = Annotated[list[FiniteFloat], Field(min_length=1)]


def _one_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Report one error for a value that is none of a union's types, at the value itself."""
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError(
            "value_type", "must be a finite number, a string of at most 1000 characters, or null"
        ) from None


def _row_kind(row: Any) -> str:
    return "object" if isinstance(row, dict) else "list"


def _untagged_union(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Report a tagged union's errors at the value and its parts, not under the tag."""
    try:
        return handler(value)
    except ValidationError as error:
        details: list[Any] = [
            {
                "type": PydanticCustomError(
                    detail["type"], "{message}", {"message": detail["msg"]}
                ),
                "loc": detail["loc"][1:],
                "input": detail["input"],
            }
            for detail in error.errors()
        ]
        raise ValidationError.from_exception_data(error.title, details) from None


#: A value of a feature: a number, text for a categorical feature, or null if missing.
Value = Annotated[
    FiniteFloat | Annotated[str, Field(max_length=1000)] | None, WrapValidator(_one_error)
]

#: One observation: its values in the model's column order, or keyed by feature name.
AnyRow = Annotated[
    Annotated[Annotated[list[Value], Field(min_length=1)], Tag("list")]
    | Annotated[dict[str, Value], Tag("object")],
    Discriminator(_row_kind),
    WrapValidator(_untagged_union),
]


def _dataset_kind(dataset: Any) -> str:
    return "name" if isinstance(dataset, str) else "source"


#: The data set of a training request: a package's URL (and SHA-256), or a name.
DatasetChoice = Annotated[
    Annotated[DatasetSource, Tag("source")] | Annotated[DatasetName, Tag("name")],
    Discriminator(_dataset_kind),
    WrapValidator(_untagged_union),
]


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


class PredictionRequest(BaseModel):
    """Rows to classify, and optionally which model version should answer.

    A row holds one value per feature of the model: a number, text for a categorical
    feature, or null where the model fills in missing values. It is a list in the
    model's column order, or an object keyed by feature name.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"data": [[5.1, 3.5, 1.4, 0.2]], "model_version": 1},
                {
                    "data": [
                        {
                            "sepal length (cm)": 5.1,
                            "sepal width (cm)": 3.5,
                            "petal length (cm)": 1.4,
                            "petal width (cm)": 0.2,
                        }
                    ]
                },
            ]
        },
    )

    data: list[AnyRow] = Field(min_length=1, description="Observations, one row each.")

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


class TrainingOptions(BaseModel):
    """A training request: the fields of a :class:`~mlapi.serving.records.TrainingOrder`.

    Each algorithm's request narrows ``algorithm`` to its name and ``hyperparameters`` to
    its own model; the other fields, their bounds and descriptions are the order's.
    """

    model_config = ConfigDict(extra="forbid")

    def order(self) -> TrainingOrder:
        """Say what to train, in the service layer's words.

        Returns:
            The order, with the hyperparameters the request gave (the configured and the
            catalogue's defaults fill in the rest).
        """
        values = {name: getattr(self, name) for name in _ORDER_FIELDS}
        if isinstance(values["hyperparameters"], BaseModel):
            values["hyperparameters"] = values["hyperparameters"].model_dump(exclude_unset=True)
        return TrainingOrder(**values)


def _order_fields() -> dict[str, Any]:
    hints = get_type_hints(TrainingOrder, include_extras=True)
    fields: dict[str, Any] = {}
    for each in dataclasses.fields(TrainingOrder):
        default: dict[str, Any] = (
            {"default_factory": each.default_factory}
            if each.default_factory is not dataclasses.MISSING
            else {"default": each.default}
        )
        description = each.metadata.get("description")
        # The request's own union, which reports errors where they are.
        hint = DatasetChoice | None if each.name == "dataset" else hints[each.name]
        fields[each.name] = (hint, Field(**default, description=description))
    return fields


#: The fields of a training request, as :class:`~mlapi.serving.records.TrainingOrder` has them.
_ORDER_FIELDS = _order_fields()


def _training_request(
    name: str, doc: str, algorithm: Any, hyperparameters: Any
) -> type[TrainingOptions]:
    return create_model(
        name,
        __base__=TrainingOptions,
        __doc__=doc,
        **{**_ORDER_FIELDS, "algorithm": algorithm, "hyperparameters": hyperparameters},
    )


DefaultAlgorithmTraining = _training_request(
    "DefaultAlgorithmTraining",
    "Train the configured default algorithm (``MLAPI_DEFAULT_ALGORITHM``).",
    (None, Field(default=None, description="Omitted (or null): the configured default.")),
    (
        dict[str, Any],
        Field(
            default_factory=dict,
            description="Hyperparameters of the configured default algorithm, over its "
            "configured defaults; checked against its entry in the catalogue.",
        ),
    ),
)


def _algorithm_training(spec: EstimatorSpec) -> type[TrainingOptions]:
    return _training_request(
        "".join(part.title() for part in spec.name.split("_")) + "Training",
        f"Train {spec.title.lower()} (``{spec.name}``).",
        (Literal[spec.name], Field(description="The algorithm.")),
        (
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
        location: tuple[int | str, ...]
        for detail in error.errors():
            if detail["type"] == "union_tag_invalid":
                expected = re.sub(r", ([^,]+)$", r" or \1", ", ".join(map(repr, CATALOGUE)))
                kind, message = "enum", f"Input should be {expected}"
                location, given = ("algorithm",), detail["ctx"]["tag"]
            else:
                kind, message = detail["type"], detail["msg"]
                location, given = detail["loc"][1:], detail["input"]
            # Carried as they were reported, whatever the error (an estimator's own
            # validator may raise one pydantic does not know).
            details.append(
                {
                    "type": PydanticCustomError(kind, "{message}", {"message": message}),
                    "loc": location,
                    "input": given,
                }
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
