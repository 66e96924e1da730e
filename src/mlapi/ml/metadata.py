"""What is known about a trained model besides its fitted parameters, kept in its file."""

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mlapi.ml.errors import ModelFileError
from mlapi.ml.evaluation import Evaluation


@dataclasses.dataclass(frozen=True)
class ModelMetadata:
    """What is known about a trained model besides its fitted parameters.

    Attributes:
        algorithm: Name of the estimator in the catalogue.
        hyperparameters: The validated hyperparameters it was built with.
        feature_names: Name of each input column, in order.
        class_names: Name of each class, in the order of the estimator's ``classes_``.
        trained_at: When training finished (UTC).
        training_rows: Rows the estimator was fitted on.
        training_seconds: How long fitting took.
        dataset_name: Name of the data set it was trained on.
        dataset_checksum: SHA-256 of the data set's features and classes.
        evaluation: Metrics on the held-out split.
        mlapi_version: Version of mlapi that trained it.
        feature_types: Type of each input column (``number``, ``integer``, ``string``);
            files written before mlapi knew types have numeric columns only.
        dataset_url: Where the data set was fetched from; None for a bundled one.
        dataset_sha256: SHA-256 of the data set's package file, when it had one.
        libraries: Versions of Python and the libraries that trained it, by name (see
            :mod:`mlapi.ml.provenance`); None in files written before mlapi recorded them.
        example_row: A row of the data set, the first with no value missing (see
            :mod:`mlapi.ml.examples`), shown in the served model's API documents; None in
            files written before mlapi recorded one.
    """

    algorithm: str
    hyperparameters: dict[str, Any]
    feature_names: list[str]
    class_names: list[str]
    trained_at: datetime
    training_rows: int
    training_seconds: float
    dataset_name: str
    dataset_checksum: str
    evaluation: Evaluation
    mlapi_version: str
    feature_types: list[str] = dataclasses.field(default_factory=list)
    dataset_url: str | None = None
    dataset_sha256: str | None = None
    libraries: dict[str, str] | None = None
    example_row: list[Any] | None = None

    def __post_init__(self) -> None:
        if not self.feature_types:
            object.__setattr__(self, "feature_types", ["number"] * len(self.feature_names))

    def to_dict(self) -> dict[str, Any]:
        """Convert to plain data for a model file.

        Returns:
            A dictionary of str, numbers, lists and dicts.
        """
        values = dataclasses.asdict(self)
        values["trained_at"] = self.trained_at.isoformat()
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "ModelMetadata":
        """Rebuild metadata read from a model file.

        Args:
            values: A dictionary as written by :meth:`to_dict`.

        Returns:
            The metadata.

        Raises:
            ModelFileError: If fields are missing or malformed.
        """
        try:
            return cls(
                **{
                    **values,
                    "trained_at": datetime.fromisoformat(values["trained_at"]),
                    "evaluation": Evaluation.from_dict(values["evaluation"]),
                }
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ModelFileError(f"model file has malformed metadata: {error!r}") from error

    def check_describes(self, estimator: Any) -> None:
        """Check that this metadata describes a fitted estimator: its classes and features.

        Args:
            estimator: The fitted estimator it is kept with.

        Raises:
            ModelFileError: If the counts of classes or features differ.
        """
        classes = getattr(estimator, "classes_", None)
        if classes is None or len(self.class_names) != len(classes):
            raise ModelFileError("model metadata does not match its estimator's classes")
        if getattr(estimator, "n_features_in_", None) != len(self.feature_names):
            raise ModelFileError("model metadata does not match its estimator's features")
        if len(self.feature_types) != len(self.feature_names):
            raise ModelFileError("model metadata does not give a type for each feature")
