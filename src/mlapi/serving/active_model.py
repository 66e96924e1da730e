"""The model each server process answers with, kept in step with the registry.

The served model is one Python reference. A request takes it once and uses that object
to the end; a swap rebinds it only after the new model is fully loaded and its file's
checksum verified, so no request ever sees a half-loaded or half-swapped model. Every
process polls the registry's active generation and follows activations made anywhere;
an activation made through this process is committed and swapped in one step of the
event loop, so no request in between can see the old model as active.
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from anyio import to_thread

from mlapi.ml import IrisClassifier, MlapiError, ModelFileError
from mlapi.ml.classifier import bundled_model_bytes
from mlapi.ml.errors import FieldError, InvalidInputError
from mlapi.serving.registry import (
    ActiveState,
    ModelVersion,
    ModelVersionNotFoundError,
    Registry,
)
from mlapi.settings import Settings

logger = logging.getLogger(__name__)

#: Largest batch predicted on the event loop itself (tens of microseconds, less than
#: handing it to a thread would cost); larger batches go to a thread.
INLINE_PREDICT_ROWS = 256

#: Non-active versions kept loaded for ``model_version`` requests.
CACHED_VERSIONS = 4


class ModelNotReadyError(MlapiError):
    """No model is loaded yet."""


@dataclass(frozen=True)
class ServedModel:
    """A loaded model and its registry record.

    Attributes:
        version: The registry record.
        classifier: The loaded classifier.
    """

    version: ModelVersion
    classifier: IrisClassifier


@dataclass(frozen=True)
class PredictionResult:
    """Predictions for a batch of rows and the model that made them.

    Attributes:
        model: The model that answered.
        prediction: The predicted class of each row.
        probability: Class probabilities of each row.
    """

    model: ServedModel
    prediction: np.ndarray
    probability: np.ndarray


class ActiveModel:
    """Serves the registry's active version and follows its activations.

    Args:
        settings: Limits, polling interval and classifier options.
        registry: Where versions and the active pointer live.
    """

    def __init__(self, settings: Settings, registry: Registry) -> None:
        self._settings = settings
        self._registry = registry
        self._served: ServedModel | None = None
        self._generation = -1
        self._cache: OrderedDict[int, ServedModel] = OrderedDict()

    @property
    def ready(self) -> bool:
        """Whether a model is loaded and answering."""
        return self._served is not None

    @property
    def served(self) -> ServedModel:
        """The model serving now.

        Raises:
            ModelNotReadyError: If no model is loaded yet.
        """
        served = self._served
        if served is None:
            raise ModelNotReadyError("the model is still loading")
        return served

    def _load(self, version: int) -> ServedModel:
        record = self._registry.get(version)
        classifier = self._registry.load(record, **self._settings.classifier_options())
        return ServedModel(record, classifier)

    def load(self) -> ServedModel:
        """Load the active version at start-up; if its file is bad, the last good one.

        Blocks: call in a thread.

        Returns:
            The model now serving.
        """
        state = self._registry.bootstrap()
        served = self._load_or_fall_back(state)
        self._served, self._generation = served, state.generation
        logger.info("serving model version %s", served.version.version)
        return served

    def _load_or_fall_back(self, state: ActiveState) -> ServedModel:
        try:
            return self._load(state.version)
        except (ModelFileError, ModelVersionNotFoundError) as error:
            logger.error("active version %s refused: %s", state.version, error)
        versions, _ = self._registry.page(limit=100)
        for candidate in versions:
            if candidate.version == state.version:
                continue
            try:
                served = self._load(candidate.version)
            except ModelFileError as error:
                logger.error("version %s refused too: %s", candidate.version, error)
                continue
            logger.warning("falling back to the last good version %s", candidate.version)
            return served
        bundled = IrisClassifier.from_bytes(
            bundled_model_bytes(), **self._settings.classifier_options()
        )
        logger.warning("no registered version loads; serving the bundled model")
        return ServedModel(self._registry.register(bundled, "mlapi (bundled model)"), bundled)

    def _newer(self) -> tuple[ActiveState, ServedModel] | None:
        state = self._registry.active()
        if state is None or state.generation <= self._generation:
            return None
        if state.version == self.served.version.version:
            return state, self.served
        try:
            return state, self._load(state.version)
        except (ModelFileError, ModelVersionNotFoundError) as error:
            logger.error(
                "version %s was activated but is refused; still serving version %s: %s",
                state.version,
                self.served.version.version,
                error,
            )
            return state, self.served

    async def refresh(self) -> bool:
        """Swap in the registry's active version if it changed.

        Returns:
            Whether the active generation changed.
        """
        newer = await to_thread.run_sync(self._newer)
        # Compared again on the event loop: an activation may have landed meanwhile.
        if newer is None or newer[0].generation <= self._generation:
            return False
        self._served, self._generation = newer[1], newer[0].generation
        return True

    async def watch(self) -> None:
        """Follow activations made by any process, until cancelled."""
        while True:
            await asyncio.sleep(self._settings.poll_interval)
            try:
                if self._served is not None:
                    await self.refresh()
            except Exception:
                logger.exception("could not check the registry for a new active version")

    async def activate(self, version: int, activated_by: str) -> ActiveState:
        """Activate a version and serve it from this process at once.

        The model is loaded and verified first, off the event loop; the registry
        commit and the swap then happen together on the event loop.

        Args:
            version: The version to activate.
            activated_by: Who or what activates it.

        Returns:
            The new active state.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
            ModelFileError: If its file is missing or damaged; nothing changes then.
        """
        served = await to_thread.run_sync(self._load, version)
        state = self._registry.activate(version, activated_by)  # blocks briefly, on purpose
        self._served, self._generation = served, state.generation
        logger.info("activated model version %s (by %s)", version, activated_by)
        return state

    async def model(self, version: int | None = None) -> ServedModel:
        """Return the active model, or a given version of it.

        Args:
            version: A version number; the active one if None.

        Returns:
            The loaded model.

        Raises:
            ModelNotReadyError: If no model is loaded yet.
            ModelVersionNotFoundError: If there is no such version.
        """
        served = self.served
        if version is None or version == served.version.version:
            return served
        cached = self._cache.get(version)
        if cached is None:
            cached = await to_thread.run_sync(self._load, version)
            self._cache[version] = cached
            while len(self._cache) > CACHED_VERSIONS:
                self._cache.popitem(last=False)
        self._cache.move_to_end(version)
        return cached

    async def predict(
        self, rows: Sequence[Sequence[float]], version: int | None = None
    ) -> PredictionResult:
        """Predict a batch of rows with the active model, or a given version.

        Args:
            rows: Rows of features as parsed from a request.
            version: A version number; the active one if None.

        Returns:
            The predictions and the model that made them.

        Raises:
            ModelNotReadyError: If no model is loaded yet.
            ModelVersionNotFoundError: If there is no such version.
            InvalidInputError: If there are too many rows, or a row does not fit the model.
        """
        limit = self._settings.max_rows_per_request
        if len(rows) > limit:
            raise InvalidInputError(
                "too many rows",
                [FieldError(("data",), f"must have at most {limit} rows", "too_many_rows")],
            )
        served = await self.model(version)
        matrix = served.classifier.validate_rows(rows)
        if len(matrix) <= INLINE_PREDICT_ROWS:
            probability, prediction = served.classifier.predict_arrays(matrix)
        else:
            probability, prediction = await to_thread.run_sync(
                served.classifier.predict_arrays, matrix
            )
        return PredictionResult(served, prediction, probability)
