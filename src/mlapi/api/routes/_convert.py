"""Turn serving-layer records into response bodies."""

import dataclasses

from mlapi.api.schemas import EvaluationResponse, JobResponse, ModelVersionResponse
from mlapi.serving.jobs import TrainingJob
from mlapi.serving.registry import ModelVersion


def version_response(version: ModelVersion, active_version: int | None) -> ModelVersionResponse:
    """Describe a model version.

    Args:
        version: The registry record.
        active_version: The registry's active version number.

    Returns:
        The response body.
    """
    metrics = EvaluationResponse.model_validate(version.metrics)
    return ModelVersionResponse(
        version=version.version,
        active=version.version == active_version,
        algorithm=version.algorithm,
        hyperparameters=version.hyperparameters,
        dataset_name=version.dataset_name,
        dataset_checksum=version.dataset_checksum,
        feature_names=version.feature_names,
        class_names=version.class_names,
        accuracy=metrics.accuracy,
        metrics=metrics,
        training_seconds=version.training_seconds,
        created_by=version.created_by,
        created_at=version.created_at,
        checksum=version.file_sha256,
    )


def job_response(job: TrainingJob) -> JobResponse:
    """Describe a training job.

    Args:
        job: The job record.

    Returns:
        The response body.
    """
    return JobResponse(**dataclasses.asdict(job))
