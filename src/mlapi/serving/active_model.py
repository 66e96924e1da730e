"""The model the service answers with, and its atomic replacement.

The served classifier is one Python reference. A request takes it once and uses that
object to the end, and a training builds a wholly new classifier, saves it atomically,
then rebinds the reference: no request ever sees a half-trained or half-swapped model,
and a crash at any instant leaves the last saved model on disk.
"""

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from anyio import to_thread

from mlapi.ml import IrisClassifier, MlapiError, ModelFileError
from mlapi.ml.errors import FieldError, InvalidInputError
from mlapi.settings import Settings

logger = logging.getLogger(__name__)

#: Largest batch predicted on the event loop itself (tens of microseconds, less than
#: handing it to a thread would cost); larger batches go to a thread.
INLINE_PREDICT_ROWS = 256


class ModelNotReadyError(MlapiError):
    """No model is loaded yet."""


@dataclass(frozen=True)
class PredictionResult:
    """Predictions for a batch of rows and the model that made them.

    Attributes:
        classifier: The model that answered; its version and labels belong to it.
        prediction: The predicted class of each row.
        probability: Class probabilities of each row.
    """

    classifier: IrisClassifier
    prediction: np.ndarray
    probability: np.ndarray


class ActiveModel:
    """Holds the served classifier and replaces it atomically after training.

    Args:
        settings: Where models live and how they are trained.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._classifier: IrisClassifier | None = None
        self._training_lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """Whether a model is loaded and answering."""
        return self._classifier is not None

    @property
    def classifier(self) -> IrisClassifier:
        """The classifier serving now.

        Raises:
            ModelNotReadyError: If no model is loaded yet.
        """
        classifier = self._classifier
        if classifier is None:
            raise ModelNotReadyError("the model is still loading")
        return classifier

    def load(self) -> IrisClassifier:
        """Load the last trained model, or the bundled one if there is none or it is bad.

        Returns:
            The classifier now serving.
        """
        options = self._settings.classifier_options()
        path = self._settings.active_model_path
        classifier = None
        if path.exists():
            try:
                classifier = IrisClassifier.load(path, **options)
            except ModelFileError:
                logger.exception("refusing model file %s; serving the bundled model", path)
        if classifier is None:
            classifier = IrisClassifier.load(**options)
        self._classifier = classifier
        logger.info("serving model %s", classifier.version)
        return classifier

    async def predict(self, rows: Sequence[Sequence[float]]) -> PredictionResult:
        """Predict a batch of rows with the active model.

        Args:
            rows: Rows of features as parsed from a request.

        Returns:
            The predictions and the model that made them.

        Raises:
            ModelNotReadyError: If no model is loaded yet.
            InvalidInputError: If there are too many rows, or a row does not fit the model.
        """
        limit = self._settings.max_rows_per_request
        if len(rows) > limit:
            raise InvalidInputError(
                "too many rows",
                [FieldError(("data",), f"must have at most {limit} rows", "too_many_rows")],
            )
        classifier = self.classifier
        matrix = classifier.validate_rows(rows)
        if len(matrix) <= INLINE_PREDICT_ROWS:
            probability, prediction = classifier.predict_arrays(matrix)
        else:
            probability, prediction = await to_thread.run_sync(classifier.predict_arrays, matrix)
        return PredictionResult(classifier, prediction, probability)

    def retrain(
        self,
        gradient_boosting: bool = False,
        *,
        algorithm: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
    ) -> IrisClassifier:
        """Train a new model on the data set, save it, then serve it. Blocks: call in a thread.

        Trainings run one at a time, in the order they asked, so the last to finish is
        the last requested.

        Args:
            gradient_boosting: Train gradient boosting instead of the default algorithm.
            algorithm: Any algorithm of the catalogue; overrides ``gradient_boosting``.
            hyperparameters: Hyperparameters over the configured defaults.

        Returns:
            The new classifier, now serving.

        Raises:
            InvalidInputError: If the algorithm or a hyperparameter is invalid.
        """
        with self._training_lock:
            candidate = train_on_dataset(
                self._settings,
                gradient_boosting,
                algorithm=algorithm,
                hyperparameters=hyperparameters,
            )
            candidate.save(self._settings.active_model_path)
            self._classifier = candidate
        logger.info(
            "now serving model %s (accuracy %.3f)",
            candidate.version,
            candidate.evaluation.accuracy,
        )
        return candidate


def train_on_dataset(
    settings: Settings,
    gradient_boosting: bool = False,
    *,
    algorithm: str | None = None,
    hyperparameters: dict[str, Any] | None = None,
) -> IrisClassifier:
    """Train a new classifier on the data set, as configured. Blocks for the training time.

    Args:
        settings: Hyperparameter defaults, held-out split and the like.
        gradient_boosting: Train gradient boosting instead of the default algorithm.
        algorithm: Any algorithm of the catalogue; overrides ``gradient_boosting``.
        hyperparameters: Hyperparameters over the configured defaults.

    Returns:
        The trained, unsaved classifier.

    Raises:
        InvalidInputError: If the algorithm or a hyperparameter is invalid.
    """
    classifier = IrisClassifier(**settings.classifier_options())
    data = classifier.dataset()
    classifier.train(
        data["X"],
        data["y"],
        gradient_boosting,
        algorithm=algorithm,
        feature_names=data["feature_names"],
        class_names=data["class_names"],
        **(hyperparameters or {}),
    )
    return classifier
