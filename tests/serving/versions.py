"""Version records made by hand, for tests that need one without a registry."""

from datetime import UTC, datetime

from mlapi.ml import IrisClassifier
from mlapi.serving.records import ModelVersion


def version_of(classifier: IrisClassifier, number: int = 7) -> ModelVersion:
    """The version record a registry would keep for ``classifier``."""
    metadata = classifier.metadata
    assert metadata is not None
    return ModelVersion(
        version=number,
        active=True,
        algorithm=metadata.algorithm,
        hyperparameters=metadata.hyperparameters,
        dataset_name=metadata.dataset_name,
        dataset_checksum=metadata.dataset_checksum,
        dataset_url=metadata.dataset_url,
        dataset_sha256=metadata.dataset_sha256,
        feature_names=metadata.feature_names,
        feature_types=metadata.feature_types,
        class_names=metadata.class_names,
        metrics=metadata.evaluation,
        training_seconds=metadata.training_seconds,
        created_by="test",
        created_at=datetime.now(UTC),
        checksum=classifier.checksum or "0" * 64,
        libraries=metadata.libraries,
    )
