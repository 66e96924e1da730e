"""What a :class:`~mlapi.serving.service.Service` is made of, and how it starts and stops.

:class:`Runtime` builds the parts (the registry, the job store, the audit log, the served
model, training dispatch and the predictor) and runs their life cycle: migrating and loading
at start-up (before a fork, or in each worker), following activations made anywhere while
serving, and closing it all at the end. The service adds the operations fronts call.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

from anyio import to_thread

from mlapi.metrics import Metrics
from mlapi.serving.active_model import ActiveModel, ServedModel
from mlapi.serving.audit import AuditLog
from mlapi.serving.database import make_engine, migrate
from mlapi.serving.errors import ModelNotReadyError
from mlapi.serving.jobs.dispatcher import Training, dispatcher_for
from mlapi.serving.jobs.store import JobStore
from mlapi.serving.notify import listen, notifies
from mlapi.serving.prediction import Predictor, freeze_start_up
from mlapi.serving.registry import Registry
from mlapi.settings import Settings

logger = logging.getLogger(__name__)


class Runtime:
    """The parts of a service, started, run and stopped together.

    Args:
        settings: The configuration, read once at start-up.
        training: Where the training jobs it queues run.
        load_on_demand: Load the served model at its first use rather than at start-up
            (for the CLI, whose commands mostly never predict).
        metrics: Where it counts what it does, and fronts count requests; its own if None.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        training: Training = Training.POOL,
        load_on_demand: bool = False,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics = metrics or Metrics()
        self._engine = make_engine(settings.registry_url)
        self._registry = Registry.for_settings(self._engine, settings)
        self._jobs = JobStore(self._engine)
        self.audit = AuditLog(self._engine, settings.audit_max_events)
        """The audit log of model-changing requests, which fronts record into."""
        self._active = ActiveModel(settings, self._registry, metrics=metrics)
        activate = self._active.activate
        self._dispatcher = dispatcher_for(training, settings, self._jobs, activate, metrics)
        self._predictor = Predictor(settings, metrics)
        self._load_on_demand = load_on_demand
        self._started = False

    # -- Life cycle ---------------------------------------------------------------------------
    def load_before_fork(self) -> None:
        """Migrate and load the active model in a supervisor about to fork its workers.

        The workers then share the model (:mod:`mlapi.cli.supervisor`). As forking needs,
        no connection stays open and no OpenMP thread team is started. Blocks.
        """
        with self._predictor.one_thread():
            migrate(self._engine)
            self._active.load()
        self._engine.dispose()
        freeze_start_up()

    async def start(self) -> None:
        """Migrate the registry, load the active model (unless on demand), start training.

        After :meth:`load_before_fork`, only the last.
        """
        if not self._active.ready:
            await to_thread.run_sync(migrate, self._engine)
            load = self._registry.bootstrap if self._load_on_demand else self._active.load
            await to_thread.run_sync(load)
        self._active.publish()  # here, not in a supervisor: a series per serving process
        if self._dispatcher is not None:
            self._dispatcher.start()
        self._started = self.audit.ready = True
        if not self._load_on_demand:
            freeze_start_up()

    async def stop(self) -> None:
        """Stop training dispatch and close the registry's connections."""
        if self._dispatcher is not None:
            await self._dispatcher.stop()
        self._engine.dispose()

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Serve: start in the background and follow activations made anywhere, until the end.

        Until the model has loaded, requests that need it get :class:`ModelNotReadyError`.
        Predictions run on one OpenMP thread (see :mod:`~mlapi.serving.prediction`).

        Yields:
            Once the start-up is under way.
        """
        one_thread = self._predictor.one_thread()
        await self._active.catch_up()  # a model loaded before a fork may be old by now
        starting = asyncio.create_task(self.start(), name="start-up")
        starting.add_done_callback(_log_failure)
        tasks = [starting, asyncio.create_task(self._active.watch(), name="registry-watch")]
        url = self._registry.engine.url
        if notifies(url):
            listening = listen(url, self._active.nudge)
            tasks.append(asyncio.create_task(listening, name="registry-listen"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.stop()
            one_thread.restore_original_limits()

    def _require_started(self) -> None:
        if not self._started:
            raise ModelNotReadyError("the service is still starting")

    async def _served(self, version: int | None = None) -> ServedModel:
        if self._load_on_demand and self._started and not self._active.ready:
            await to_thread.run_sync(self._active.load)
        return await self._active.model(version)


def _log_failure(task: "asyncio.Task[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the service failed to start", exc_info=task.exception())
