"""Request bodies: the training request union reports errors at the body's own fields."""

from typing import Annotated, Any, Literal

import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

from mlapi.api.schemas import (
    _ALGORITHM_REQUESTS,
    DefaultAlgorithmTraining,
    _algorithm_tag,
    _untagged,
)
from mlapi.ml import CATALOGUE
from mlapi.serving.records import TrainingOrder


class _OddDepth(BaseModel):
    """Hyperparameters with a validator of their own, as a forked estimator may have."""

    model_config = ConfigDict(extra="forbid")

    max_depth: int = 3

    @field_validator("max_depth")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise PydanticCustomError(
                "odd_depth", "max_depth must be odd, not {value}", {"value": value}
            )
        return value


class _OddTraining(BaseModel):
    model_config = ConfigDict(extra="forbid")

    algorithm: Literal["odd_tree"]
    hyperparameters: _OddDepth = Field(default_factory=_OddDepth)


_UNION: Any = Annotated[
    Annotated[DefaultAlgorithmTraining, Tag("default")] | Annotated[_OddTraining, Tag("odd_tree")],
    Discriminator(_algorithm_tag),
    WrapValidator(_untagged),
]


def _errors(body: object) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(_UNION).validate_python(body)
    return [
        {"loc": error["loc"], "type": error["type"], "msg": error["msg"]}
        for error in caught.value.errors()
    ]


def test_an_estimators_own_validation_error_is_reported_at_its_field() -> None:
    assert _errors({"algorithm": "odd_tree", "hyperparameters": {"max_depth": 4}}) == [
        {
            "loc": ("hyperparameters", "max_depth"),
            "type": "odd_depth",
            "msg": "max_depth must be odd, not 4",
        }
    ]


def test_every_error_of_a_branch_is_reported_without_the_tag() -> None:
    errors = _errors({"algorithm": "odd_tree", "hyperparameters": {"max_depth": "x"}, "e": 1})

    assert [error["loc"] for error in errors] == [("hyperparameters", "max_depth"), ("e",)]
    assert [error["type"] for error in errors] == ["int_parsing", "extra_forbidden"]


def test_an_unknown_algorithm_is_reported_at_the_algorithm_listing_the_catalogue() -> None:
    [error] = _errors({"algorithm": "magic"})

    assert (error["loc"], error["type"]) == (("algorithm",), "enum")
    assert all(repr(name) in error["msg"] for name in CATALOGUE)


def test_a_body_without_an_algorithm_is_the_default_request() -> None:
    request = TypeAdapter(_UNION).validate_python({"hyperparameters": {"max_depth": 4}})

    assert request.order() == TrainingOrder(hyperparameters={"max_depth": 4})


def test_an_algorithms_request_orders_only_the_hyperparameters_it_set() -> None:
    request = _ALGORITHM_REQUESTS["gradient_boosting"].model_validate(
        {"algorithm": "gradient_boosting", "hyperparameters": {"n_estimators": 5}, "test_size": 0.5}
    )

    assert request.hyperparameters.learning_rate == 0.1  # shown as the default
    assert request.order() == TrainingOrder(
        algorithm="gradient_boosting", hyperparameters={"n_estimators": 5}, test_size=0.5
    )
