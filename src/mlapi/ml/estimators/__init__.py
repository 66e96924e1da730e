"""The catalogue of estimators mlapi can train.

Each module in this package describes one algorithm in a few lines: its hyperparameters
(a :class:`Hyperparameters` model with types, bounds and defaults) and the scikit-learn
class they build, joined by :func:`estimator`, which infers the rest (the algorithm's
name from the class, ``HistGradientBoostingClassifier`` → ``hist_gradient_boosting``).
Drop a new module here exposing ``ESTIMATOR`` and the API, CLI and docs pick it up:
:data:`CATALOGUE` and :class:`Algorithm` are built from whatever this package holds.
Nothing else is needed: the types a fitted estimator's file holds are read from that
file when it is trained, and recorded with it (see :mod:`mlapi.ml.persistence`).
"""

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from mlapi.ml.errors import FieldError, Input, InvalidInputError

#: Receives the share of a training done so far, from 0 to 1.
ProgressCallback = Callable[[float], None]

#: The algorithm the article's ``gradient_boosting`` flag asks for.
GRADIENT_BOOSTING = "gradient_boosting"


@dataclass(frozen=True)
class EstimatorSpec:
    """How to make one kind of estimator.

    Attributes:
        name: The algorithm's identifier in the API, CLI and configuration.
        title: A human-readable name for documentation.
        hyperparameters: A pydantic model: its fields are the hyperparameters,
            with types, bounds and defaults. It should forbid extra fields.
        build: Makes an unfitted scikit-learn estimator from validated hyperparameters.
        order: Position in listings; the lowest is the default algorithm.
        fit: Fits the estimator while reporting progress from 0 to 1, for estimators
            that can (e.g. through scikit-learn's ``monitor`` hook); a plain ``fit``
            reported as done at the end if None.
    """

    name: str
    title: str
    hyperparameters: type[BaseModel]
    build: Callable[[Any], Any]
    order: int = 100
    fit: Callable[[Any, Any, Any, ProgressCallback], Any] | None = None

    def fit_estimator(self, estimator: Any, X: Any, y: Any, progress: ProgressCallback) -> Any:  # noqa: N803
        """Fit an estimator built by :attr:`build`, reporting progress.

        Args:
            estimator: The unfitted estimator.
            X: Training features.
            y: Training classes.
            progress: Called with the share of the fit done, from 0 to 1.

        Returns:
            The fitted estimator.
        """
        if self.fit is not None:
            return self.fit(estimator, X, y, progress)
        fitted = estimator.fit(X, y)
        progress(1.0)
        return fitted

    def validate(self, values: Mapping[str, Any]) -> BaseModel:
        """Validate hyperparameters, filling in the defaults.

        Args:
            values: Hyperparameter names and values.

        Returns:
            The validated hyperparameters.

        Raises:
            InvalidInputError: If a name is unknown or a value is out of bounds.
        """
        try:
            return self.hyperparameters.model_validate(dict(values))
        except ValidationError as error:
            raise InvalidInputError(
                f"invalid hyperparameters for {self.name}",
                [
                    FieldError(
                        Input.HYPERPARAMETERS,
                        tuple(str(part) for part in detail["loc"]),
                        detail["msg"],
                        detail["type"],
                    )
                    for detail in error.errors()
                ],
            ) from error


class Hyperparameters(BaseModel):
    """Base of an algorithm's hyperparameters: unknown names are refused."""

    model_config = ConfigDict(extra="forbid")


def estimator(
    kind: type,
    hyperparameters: type[BaseModel],
    *,
    title: str | None = None,
    order: int = 100,
    fit: Callable[[Any, Any, Any, ProgressCallback], Any] | None = None,
) -> EstimatorSpec:
    """Describe a scikit-learn classifier built from its validated hyperparameters.

    Args:
        kind: The classifier's class, called with the hyperparameters as keywords.
        hyperparameters: Their model; each field is passed to ``kind`` by name.
        title: For documentation; the name in words if None.
        order: Position in listings; the lowest is the default algorithm.
        fit: See :attr:`EstimatorSpec.fit`.

    Returns:
        The specification, named after the class without ``Classifier``, in snake case.
    """
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*", kind.__name__.removesuffix("Classifier"))
    name = "_".join(word.lower() for word in words)
    return EstimatorSpec(
        name=name,
        title=title or name.replace("_", " ").capitalize(),
        hyperparameters=hyperparameters,
        build=lambda params: kind(**params.model_dump()),
        order=order,
        fit=fit,
    )


def _discover() -> dict[str, EstimatorSpec]:
    specs = []
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        spec = getattr(module, "ESTIMATOR", None)
        if isinstance(spec, EstimatorSpec):
            specs.append(spec)
    specs.sort(key=lambda spec: (spec.order, spec.name))
    return {spec.name: spec for spec in specs}


#: Every available estimator by name, the default first.
CATALOGUE: dict[str, EstimatorSpec] = _discover()

if TYPE_CHECKING:

    class Algorithm(StrEnum):
        """The closed set of algorithm names, built from :data:`CATALOGUE`."""

else:
    Algorithm = StrEnum("Algorithm", {name.upper(): name for name in CATALOGUE})
    Algorithm.__doc__ = "The closed set of algorithm names, built from :data:`CATALOGUE`."

#: The algorithm used when none is asked for.
DEFAULT_ALGORITHM: str = next(iter(CATALOGUE))


def get_estimator(name: str) -> EstimatorSpec:
    """Look up an estimator by algorithm name.

    Args:
        name: An algorithm name from :data:`CATALOGUE`.

    Returns:
        Its specification.

    Raises:
        InvalidInputError: If no such algorithm exists.
    """
    try:
        return CATALOGUE[str(name)]
    except KeyError:
        raise InvalidInputError(
            "unknown algorithm",
            [FieldError(Input.ALGORITHM, (), f"must be one of {sorted(CATALOGUE)}", "enum")],
        ) from None


def algorithm_for(gradient_boosting: bool) -> str | None:
    """Name the algorithm the article's ``gradient_boosting`` flag asks for.

    Args:
        gradient_boosting: The article's flag.

    Returns:
        ``"gradient_boosting"`` if set; None otherwise, meaning the default algorithm
        (the catalogue's first, or the configured one in the service).
    """
    return GRADIENT_BOOSTING if gradient_boosting else None
