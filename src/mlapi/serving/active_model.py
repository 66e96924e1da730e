"""The model each server process answers with, kept in step with the registry.

The served model is one Python reference. A request takes it once and uses that object
to the end; a swap rebinds it only after the new model is fully loaded and its file's
checksum verified, so no request ever sees a half-loaded or half-swapped model. Every
process polls the registry's active generation and follows activations made anywhere
(at once on PostgreSQL, which notifies them: :mod:`~mlapi.serving.notify`);
an activation made through this process is committed and swapped in one step of the
event loop, so no request in between can see the old model as active.

A model swapped out stays loaded, with a few other versions asked for by number
(``cached_versions``): activating it again (a roll-back) only checks its file against
its checksum, milliseconds, instead of loading it again, seconds for a large ensemble.
"""

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

from anyio import to_thread

from mlapi.metrics import Metrics
from mlapi.ml import IrisClassifier, ModelFileError
from mlapi.ml.persistence import bundled_model_bytes
from mlapi.serving.errors import ModelNotReadyError, ModelStoreError, ModelVersionNotFoundError
from mlapi.serving.examples import served_example
from mlapi.serving.reading import ModelReader
from mlapi.serving.records import ActiveState, Health, ModelVersion, ServedExample
from mlapi.serving.registry import Registry
from mlapi.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    """A loaded model and its registry record.

    Attributes:
        version: The registry record, as read when the model was loaded.
        classifier: The loaded classifier.
        data_rows: Whether its example may be the row its version recorded from the
            training data (``MLAPI_DOCUMENT_DATA_ROWS``).
    """

    version: ModelVersion
    classifier: IrisClassifier
    data_rows: bool = True

    @cached_property
    def example(self) -> ServedExample:
        """A row the model takes and its answer, for documents: predicted at first use.

        Raises:
            InvalidInputError: If the model takes no row at all (an inconsistent model).
        """
        return served_example(self.version, self.classifier, data_rows=self.data_rows)


class ActiveModel:
    """Serves the registry's active version and follows its activations.

    Args:
        settings: Limits, polling interval and classifier options.
        registry: Where versions and the active pointer live.
        reader: Reads model files while this process serves; by default the large ones
            in a helper process.
        metrics: Where load times, the version served and fall-backs are counted.
    """

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        reader: ModelReader | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._settings = settings
        self._registry = registry
        self._metrics = metrics or Metrics()
        self._served: ServedModel | None = None
        self._generation = -1
        self._active_version: int | None = None
        self._cache: OrderedDict[int, ServedModel] = OrderedDict()
        self._reader = reader or ModelReader()
        self._nudged = asyncio.Event()

    @property
    def ready(self) -> bool:
        """Whether a model is loaded and answering."""
        return self._served is not None

    @property
    def fallback(self) -> bool:
        """Whether this process serves another version than the registry's active one.

        So it does when the active version's file was refused, at start-up or when it
        was activated elsewhere, until a version it can load is activated.
        """
        served = self._served
        return served is not None and served.version.version != self._active_version

    def health(self) -> Health:
        """Readiness: ``ready`` and the version served, ``degraded`` while it is a fall-back.

        Raises:
            ModelNotReadyError: If no model is loaded yet.
        """
        version = self.served.version.version
        return Health(status="degraded" if self.fallback else "ready", model_version=version)

    def publish(self) -> None:
        """Show the version this process serves, and whether it is a fall-back, in metrics."""
        served = self._served
        if served is not None:
            version = served.version
            self._metrics.serving(
                version.version, version.algorithm, version.dataset_name, self.fallback
            )

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

    def _load(self, version: int, *, serving: bool = True) -> ServedModel:
        """A version's model: one kept loaded if its file still checks out, else read.

        While this process serves, a large file is read in a helper process (see
        :mod:`~mlapi.serving.reading`); before, in place, which is quicker. Blocks.
        """
        kept = self._kept(version)
        if kept is not None:
            return self._serving(self._registry.verify(version), kept.classifier)
        options = self._settings.classifier_options()
        if serving:
            options["reader"] = self._reader
        start = time.perf_counter()
        loaded = self._serving(*self._registry.load(version, **options))
        self._metrics.model_loaded(time.perf_counter() - start)
        return loaded

    def _kept(self, version: int) -> ServedModel | None:
        served = self._served
        if served is not None and served.version.version == version:
            return served
        return self._cache.get(version)

    def _serve(self, served: ServedModel, state: ActiveState) -> None:
        """Swap ``served`` in (on the event loop); the model it replaces stays loaded."""
        previous, self._served, self._generation = self._served, served, state.generation
        self._active_version = state.version
        self._cache.pop(served.version.version, None)
        if previous is not None and previous.classifier is not served.classifier:
            self._remember(previous)
        self.publish()

    def _remember(self, served: ServedModel) -> None:
        self._cache[served.version.version] = served
        self._cache.move_to_end(served.version.version)
        while len(self._cache) > self._settings.cached_versions:
            self._cache.popitem(last=False)

    def load(self) -> ServedModel:
        """Load the active version at start-up; if its file is bad, the last good one.

        Blocks: call in a thread.

        Returns:
            The model now serving.
        """
        state = self._registry.bootstrap()
        served = self._load_or_fall_back(state)
        self._served, self._generation = served, state.generation
        self._active_version = state.version
        logger.info(
            "serving model version %s",
            served.version.version,
            extra={"model_version": served.version.version, "active_version": state.version},
        )
        return served

    def _load_or_fall_back(self, state: ActiveState) -> ServedModel:
        try:
            return self._load(state.version, serving=False)
        except (ModelFileError, ModelVersionNotFoundError) as error:
            logger.error(
                "active version %s refused: %s",
                state.version,
                error,
                extra={"model_version": state.version},
            )
        for candidate in self._registry.page(limit=100).items:
            if candidate.version == state.version:
                continue
            try:
                served = self._load(candidate.version, serving=False)
            except ModelFileError as error:
                logger.error(
                    "version %s refused too: %s",
                    candidate.version,
                    error,
                    extra={"model_version": candidate.version},
                )
                continue
            logger.warning(
                "falling back to the last good version %s",
                candidate.version,
                extra={"model_version": candidate.version, "active_version": state.version},
            )
            return served
        bundled = IrisClassifier.from_bytes(
            bundled_model_bytes(),
            library_mismatch=self._settings.library_mismatch,
            **self._settings.classifier_options(),
        )
        logger.warning("no registered version loads; serving the bundled model")
        return self._serving(self._registry.register(bundled, "mlapi (bundled model)"), bundled)

    def _serving(self, version: ModelVersion, classifier: IrisClassifier) -> ServedModel:
        return ServedModel(version, classifier, self._settings.document_data_rows)

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
                extra={
                    "model_version": self.served.version.version,
                    "active_version": state.version,
                },
            )
            return state, self.served

    async def refresh(self, notified: bool = False) -> bool:
        """Swap in the registry's active version if it changed.

        Args:
            notified: Whether the database told of an activation, as the log line says.

        Returns:
            Whether the active generation changed.
        """
        newer = await to_thread.run_sync(self._newer)
        # Compared again on the event loop: an activation may have landed meanwhile.
        if newer is None or newer[0].generation <= self._generation:
            return False
        state, served = newer
        swapped = served is not self._served
        self._serve(served, state)
        if swapped:
            how = "notification" if notified else "poll"
            message = "serving model version %s, activated by another process (seen by %s)"
            extra = {"model_version": state.version, "seen_by": how}
            logger.info(message, state.version, how, extra=extra)
        return True

    async def watch(self) -> None:
        """Follow activations made by any process, until cancelled.

        Looks at the registry every ``poll_interval`` seconds, and at once when nudged.
        """
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudged.wait(), self._settings.poll_interval)
            notified = self._nudged.is_set()
            self._nudged.clear()
            await self.catch_up(notified)

    def nudge(self) -> None:
        """Make :meth:`watch` look at the registry now (an activation was notified)."""
        self._nudged.set()

    async def catch_up(self, notified: bool = False) -> None:
        """As :meth:`refresh` does, but log a failure rather than raise it."""
        try:
            if self._served is not None:
                await self.refresh(notified)
        except ModelStoreError as error:  # tried again at the next look, until it is back
            logger.error("the newly active version cannot be read yet: %s", error)
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
            ModelStoreError: If the model store cannot be reached; nothing changes then.
        """
        served = await to_thread.run_sync(self._load, version)
        previous = self._served.version.version if self._served else None
        state = self._registry.activate(version, activated_by)  # blocks briefly, on purpose
        self._serve(served, state)
        logger.info(
            "activated model version %s (by %s)",
            version,
            activated_by,
            extra={
                "model_version": version,
                "previous_version": previous,
                "activated_by": activated_by,
            },
        )
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
            if cached.version.version == self.served.version.version:
                return self.served  # activated meanwhile
        self._remember(cached)
        return cached
