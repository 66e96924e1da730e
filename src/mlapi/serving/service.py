"""The one entry point of every operation, for every front.

:class:`Service` is what the REST routes, the CLI and any later front (the Open Inference
Protocol routes, a dashboard) call, as Seldon MLServer's ``DataPlane`` is for its REST and
gRPC servers: one method per operation, taking and returning the plain records of
:mod:`mlapi.serving.records` and raising the domain errors of :mod:`mlapi.serving.errors`
and :mod:`mlapi.ml.errors`. A front only adapts: it parses its protocol into arguments,
and renders the record or the error in its own words. Nothing here knows about HTTP.

Behind it: the registry (:mod:`~mlapi.serving.registry`), the served model
(:mod:`~mlapi.serving.active_model`), jobs (:mod:`~mlapi.serving.jobs`) and the audit log.
"""

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from anyio import to_thread

from mlapi.logs import REQUEST_ID
from mlapi.ml import IrisClassifier
from mlapi.ml.datasets import Dataset
from mlapi.serving.datasets import Datasets, DownloadProgress
from mlapi.serving.jobs.dispatcher import Training
from mlapi.serving.jobs.follow import follow_job
from mlapi.serving.records import (
    AlgorithmEntry,
    ArrayPredictions,
    DatasetSource,
    Health,
    JobPage,
    ModelVersion,
    ModelVersionPage,
    Predictions,
    ServedExample,
    TrainingJob,
    TrainingOrder,
)
from mlapi.serving.runtime import Runtime
from mlapi.serving.store import ModelStore
from mlapi.serving.training import algorithms, resolve_training, train_model
from mlapi.settings import Settings

__all__ = ["Service", "Training", "check_model_store", "follow_job"]


def check_model_store(settings: Settings) -> None:
    """Make sure the model store ``model_dir`` names can be used: what a server checks first.

    A local folder always can (it is made when needed); an object store must answer, take
    the configured keys, and hold the bucket. Blocks for at most a few ``s3_timeout``.

    Raises:
        ModelStoreError: Saying what failed.
    """
    ModelStore.for_settings(settings).check_reachable()


class Service(Runtime):
    """Every operation on the model registry, the served model and training jobs.

    Built and run as a :class:`~mlapi.serving.runtime.Runtime` is (``Service(settings)``,
    then ``async with service.running()`` to serve, or ``async with service`` for a command).
    """

    # -- Predicting ---------------------------------------------------------------------------
    async def predict(self, rows: Sequence[Any], model_version: int | None = None) -> Predictions:
        """Predict the class, class probabilities and class name of each row.

        Args:
            rows: Rows of features, one value per feature of the model.
            model_version: A registered version to ask; the active one if None.

        Returns:
            The predictions and the version that made them.

        Raises:
            ModelNotReadyError: If no model is loaded yet.
            ModelVersionNotFoundError: If there is no such version.
            InvalidInputError: If there are too many rows, or a row does not fit the
                model (naming each row and column at fault).
        """
        return await self._predictor.predict(await self._served(model_version), rows)

    async def predict_numbers(
        self, matrix: np.ndarray, model_version: int | None = None, *, labels: bool = False
    ) -> ArrayPredictions | None:
        """Predict rows a front parsed itself into float64 numbers checked by ``in_range``.

        Returns:
            The predictions as arrays; None if the rows do not fit that way (too many, the
            wrong width, a model of text): :meth:`predict` then refuses them, or answers.

        Raises:
            ModelNotReadyError: If no model is loaded yet.
            ModelVersionNotFoundError: If there is no such version.
        """
        served = await self._served(model_version)
        return await self._predictor.predict_numbers(served, matrix, labels=labels)

    async def fetch_dataset(
        self, dataset: DatasetSource | str | None, progress: DownloadProgress | None = None
    ) -> tuple[Dataset, DatasetSource]:
        """Fetch and read a data set as a training job would, within the same limits.

        Returns:
            The data set and where it came from (see :meth:`Datasets.load`).
        """
        datasets = Datasets(self.settings)
        return await to_thread.run_sync(datasets.load, datasets.resolve(dataset), progress)

    async def served(self) -> ModelVersion:
        """Describe the model this process serves now.

        Returns:
            Its version; ``active`` says whether the registry still names it (a process
            serving a fall-back, because the active version's file is damaged, says no).

        Raises:
            ModelNotReadyError: If no model is loaded yet.
        """
        served = await self._served()
        state = await to_thread.run_sync(self._registry.active)
        active = state is not None and state.version == served.version.version
        return dataclasses.replace(served.version, active=active)

    def example(self) -> ServedExample:
        """Show the served model by a row it takes and its answer (ModelNotReadyError until one)."""
        return self._active.served.example

    def live(self) -> Health:
        """Say that the process answers: ``status="ok"``."""
        return Health(status="ok")

    def ready(self) -> Health:
        """Say that a model answers, and which: ``ready``, or ``degraded`` if a fall-back.

        Raises:
            ModelNotReadyError: Until the model has loaded.
        """
        return self._active.health()

    # -- Training -----------------------------------------------------------------------------
    async def train(self, order: TrainingOrder, created_by: str) -> TrainingJob:
        """Queue a training job; the configured defaults fill in what the order leaves out.

        Args:
            order: What to train.
            created_by: Who asks, recorded with the job and its version.

        Returns:
            The queued job, keeping the id of the request being served for its log lines.

        Raises:
            InvalidInputError: If the algorithm or a hyperparameter is invalid; nothing
                is queued then.
            QueueFullError: If ``max_queued_jobs`` jobs are already waiting.
            StorageFullError: If the model store has no room for another version.
            ModelStoreError: If the model store cannot be reached; nothing is queued.
        """
        self._require_started()
        spec = resolve_training(self.settings, order, created_by)
        claimant = self._dispatcher.claimant if self._dispatcher else None
        await to_thread.run_sync(self._registry.store.check_room)
        job = await to_thread.run_sync(
            self._jobs.create, spec, claimant, self.settings.max_queued_jobs, REQUEST_ID.get()
        )
        if self._dispatcher is not None:
            self._dispatcher.submit(job)
        return job

    def algorithms(self) -> list[AlgorithmEntry]:
        """List the algorithms a training job can train, with their hyperparameters' schema."""
        return algorithms(self.settings)

    def fit(self, order: TrainingOrder, created_by: str) -> IrisClassifier:
        """Train a model here and now, outside the registry and the job queue.

        What ``mlapi train --output FILE`` writes; the service need not be started, and
        nothing is read from or written to the registry. Blocks for the training time.

        Returns:
            The trained, unsaved classifier (the configured defaults fill in the order).

        Raises:
            InvalidInputError: If the order or the data cannot be trained on.
        """
        return train_model(self.settings, resolve_training(self.settings, order, created_by))

    async def wait(
        self, job_id: str, progress: Callable[[float], None] | None = None
    ) -> TrainingJob:
        """Wait until a training job finishes, wherever it runs.

        Args:
            job_id: Which job; it may run in this process or on any server.
            progress: Told the job's progress, from 0 to 1, as it changes.

        Returns:
            The succeeded job.

        Raises:
            JobNotFoundError: If there is no such job.
            TrainingFailedError: If it failed or was cancelled.
        """
        return await follow_job(self.job, job_id, progress)

    async def cancel(self, job_id: str, cancelled_by: str) -> TrainingJob:
        """Cancel a queued or running training job, wherever it runs.

        A running job's training process stops within about a heartbeat if its estimator
        reports progress while it fits, and otherwise before it registers a version. One
        cancelled after it registered its version leaves that version registered, and
        not activated unless the dispatcher was already activating it.

        Args:
            job_id: Which job.
            cancelled_by: Who cancels it, recorded in the job's ``error``.

        Returns:
            The job, now cancelled.

        Raises:
            JobNotFoundError: If there is no such job.
            JobFinishedError: If it already succeeded, failed or was cancelled.
        """
        self._require_started()
        return await to_thread.run_sync(self._jobs.cancel, job_id, cancelled_by)

    async def job(self, job_id: str) -> TrainingJob:
        """Look up a training job.

        Raises:
            JobNotFoundError: If there is no such job.
        """
        self._require_started()
        return await to_thread.run_sync(self._jobs.get, job_id)

    async def jobs(self, limit: int = 50, offset: int = 0) -> JobPage:
        """List training jobs, newest first: at most ``limit``, after the first ``offset``."""
        self._require_started()
        return await to_thread.run_sync(self._jobs.page, limit, offset)

    # -- Model versions -----------------------------------------------------------------------
    async def version(self, number: int) -> ModelVersion:
        """Look up a model version.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
        """
        self._require_started()
        return await to_thread.run_sync(self._registry.get, number)

    async def card(self, number: int) -> str:
        """Give a version's model card: Markdown, CommonMark with GFM tables, no raw HTML.

        Written when the version was registered (see :meth:`Registry.card`).

        Raises:
            ModelVersionNotFoundError: If there is no such version.
        """
        self._require_started()
        return await to_thread.run_sync(self._registry.card, number)

    async def versions(self, limit: int = 50, offset: int = 0) -> ModelVersionPage:
        """List model versions, newest first: at most ``limit``, after the first ``offset``."""
        self._require_started()
        return await to_thread.run_sync(self._registry.page, limit, offset)

    async def activate(self, number: int, activated_by: str) -> ModelVersion:
        """Make a version the active one everywhere, and serve it from this process at once.

        Its file is loaded (or, kept loaded, checked) first; nothing changes if it fails.

        Returns:
            The version, now active.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
            ModelFileError: If its file is missing or damaged.
            ModelStoreError: If the model store cannot be reached.
        """
        self._require_started()
        await self._active.activate(number, activated_by)
        return dataclasses.replace(self._active.served.version, active=True)

    async def delete(self, number: int) -> None:
        """Delete a version and its file.

        Raises:
            ModelVersionNotFoundError: If there is no such version.
            VersionInUseError: If it is the active version.
        """
        self._require_started()
        await to_thread.run_sync(self._registry.delete, number)
