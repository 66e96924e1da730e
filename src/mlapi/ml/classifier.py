"""The article's ``IrisClassifier``: train, save, load and predict with one estimator.

It is plain Python and numpy with no web imports, so the notebook, the CLI and the REST
service all use it the same way::

    from mlapi.ml import IrisClassifier

    clf = IrisClassifier.load()                   # the bundled pre-trained model
    data = clf.dataset()
    clf.train(data["X"], data["y"], gradient_boosting=True)
    clf.predict([[5.1, 3.5, 1.4, 0.2]])
"""

from collections.abc import Collection
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from mlapi.ml import datasets, persistence, training
from mlapi.ml.datasets import Dataset
from mlapi.ml.download import download as download_file
from mlapi.ml.errors import InvalidInputError, ModelFileError
from mlapi.ml.estimators import DEFAULT_ALGORITHM, ProgressCallback, algorithm_for, get_estimator
from mlapi.ml.evaluation import Evaluation
from mlapi.ml.metadata import ModelMetadata
from mlapi.ml.rows import validate_rows

#: Where downloads go unless the caller says otherwise.
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "mlapi"


class Prediction(TypedDict):
    """The article's prediction answer: a class and class probabilities per row."""

    prediction: list[int]
    probability: list[list[float]]


class IrisClassifier:
    """A classifier trained on the Iris data set (or any tabular data set) and served by mlapi.

    Args:
        test_size: Share of rows held out to evaluate each trained model.
        random_state: Seed of the held-out split.
        cache_dir: Folder where :meth:`download` keeps files.
        download_max_bytes: Largest file :meth:`download` accepts.
        download_timeout: Seconds :meth:`download` may take.

    Attributes:
        estimator: The fitted scikit-learn classifier, or None before training.
        metadata: What is known about the trained model, or None before training.
        checksum: SHA-256 of the model file it was saved to or loaded from, if any.
    """

    def __init__(
        self,
        *,
        test_size: float = 0.2,
        random_state: int = 0,
        cache_dir: Path = DEFAULT_CACHE_DIR,
        download_max_bytes: int = 100 * 1024 * 1024,
        download_timeout: float = 60.0,
    ) -> None:
        self.test_size = test_size
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.download_max_bytes = download_max_bytes
        self.download_timeout = download_timeout
        self.estimator: Any = None
        self.metadata: ModelMetadata | None = None
        self.checksum: str | None = None
        self._labels: dict[Any, str] = {}
        # skops output differs on every call (memory ids, zip timestamps), so the bytes
        # are kept: the same model then always has the same file and checksum.
        self._file: bytes | None = None
        self._file_types: list[str] | None = None

    @staticmethod
    def dataset() -> Dataset:
        """Load the Iris data set shipped with scikit-learn.

        Returns:
            ``X`` (150 x 4 float features), ``y`` (class 0, 1 or 2), the feature names
            and the class names.
        """
        return datasets.iris()

    @property
    def version(self) -> str | None:
        """Short identifier of the model (the first 12 hex digits of its file's SHA-256)."""
        return self.checksum[:12] if self.checksum else None

    @property
    def evaluation(self) -> Evaluation:
        """Held-out metrics of the trained model."""
        return self._require_metadata().evaluation

    @property
    def n_features(self) -> int:
        """Number of input columns the trained model expects."""
        return len(self._require_metadata().feature_names)

    @property
    def trusted_types(self) -> list[str]:
        """Types beyond skops' defaults that this model's file holds: what loading it must trust.

        Read from the file this classifier wrote of its own estimator (or, for a loaded
        model, from the file that already passed the allow-list it was loaded with).
        """
        if self._file_types is None:
            self._file_types = persistence.file_types(self.to_bytes())
        return self._file_types

    def train(
        self,
        X: Any,  # noqa: N803 - the article's name for the feature matrix
        y: Any,
        gradient_boosting: bool = False,
        *,
        algorithm: str | None = None,
        feature_names: list[str] | None = None,
        class_names: list[str] | None = None,
        dataset_name: str = "iris",
        progress: ProgressCallback | None = None,
        **hyperparameters: Any,
    ) -> Evaluation:
        """Train a new estimator, evaluate it on a held-out split and keep it.

        Args:
            X: Feature matrix, one row per observation.
            y: Class of each row.
            gradient_boosting: Train gradient boosting instead of the default
                algorithm (a decision tree), as in the article.
            algorithm: Any algorithm name from the catalogue; overrides
                ``gradient_boosting``.
            feature_names: Name of each column; Iris names by default.
            class_names: Name of each class value, in sorted class order; Iris names
                for classes 0, 1, 2 by default, else the values as text.
            dataset_name: Name of the data set, recorded with the model.
            progress: Called with the share of fitting done, from 0 to 1.
            **hyperparameters: Hyperparameters of the algorithm; the catalogue's
                defaults fill in the others.

        Returns:
            Metrics of the new model on the held-out rows.

        Raises:
            InvalidInputError: If the algorithm, a hyperparameter or the data is invalid.
        """
        estimator, metadata = training.fit(
            get_estimator(algorithm or algorithm_for(gradient_boosting) or DEFAULT_ALGORITHM),
            hyperparameters,
            X,
            y,
            test_size=self.test_size,
            random_state=self.random_state,
            feature_names=feature_names,
            class_names=class_names,
            dataset_name=dataset_name,
            progress=progress,
        )
        self._keep(estimator, metadata, checksum=None)
        return metadata.evaluation

    def predict(self, X: Any) -> Prediction:  # noqa: N803 - the article's name
        """Predict the class and class probabilities of each row.

        The prediction is the class of highest probability, taken from the same single
        ``predict_proba`` call, so the two always agree.

        Args:
            X: Rows of features, each as wide as the training data.

        Returns:
            ``{"prediction": [class, ...], "probability": [[p0, p1, ...], ...]}``.

        Raises:
            InvalidInputError: If a row has the wrong width or a value that is not a
                finite number; the error names each such row and column.
        """
        probability, prediction = self.predict_arrays(self.validate_rows(X))
        return Prediction(prediction=prediction.tolist(), probability=probability.tolist())

    def validate_rows(self, X: Any) -> np.ndarray:  # noqa: N803 - the article's name
        """Check rows against the trained model and convert them to a float matrix.

        Args:
            X: Rows of features.

        Returns:
            A C-contiguous float64 matrix of shape ``(rows, n_features)``.

        Raises:
            InvalidInputError: Naming each row of the wrong width or cell that is not a
                finite number.
        """
        return validate_rows(X, self.n_features)

    def predict_arrays(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predict from an already validated float matrix.

        Args:
            rows: Output of :meth:`validate_rows`.

        Returns:
            Class probabilities (rows x classes) and the predicted class of each row.
        """
        estimator = self._require_estimator()
        probability: np.ndarray = estimator.predict_proba(rows)
        prediction: np.ndarray = estimator.classes_[probability.argmax(axis=1)]
        return probability, prediction

    def labels(self, prediction: list[Any]) -> list[str]:
        """Name the predicted classes.

        Args:
            prediction: Class values as :meth:`predict` returns them.

        Returns:
            The class name of each.
        """
        return [self._labels[value] for value in prediction]

    def to_bytes(self) -> bytes:
        """Serialise the trained model as a skops file.

        The same trained or loaded model always gives the same bytes: those it was
        loaded from, else those of its first serialisation.

        Returns:
            The file's bytes.
        """
        if self._file is None:
            self._file = persistence.dumps(
                self._require_estimator(), self._require_metadata().to_dict()
            )
        return self._file

    def save(self, path: str | Path) -> str:
        """Save the trained model to a skops file, atomically.

        Args:
            path: Destination file; its folder is created if missing.

        Returns:
            The SHA-256 of the written file, also kept in :attr:`checksum`.
        """
        data = self.to_bytes()
        persistence.write_atomic(Path(path), data)
        self.checksum = persistence.sha256_hex(data)
        return self.checksum

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        trusted_types: Collection[str] = persistence.DEFAULT_TRUSTED_TYPES,
        **options: Any,
    ) -> "IrisClassifier":
        """Load a trained model without executing code from its file.

        Args:
            path: A file written by :meth:`save`; None loads the pre-trained model
                bundled with mlapi.
            trusted_types: Types beyond skops' defaults the file may hold; those of
                decision trees and gradient boosting by default. For a model of another
                algorithm, pass the :attr:`trusted_types` of the classifier that saved it.
            **options: Keyword arguments of the constructor.

        Returns:
            A ready classifier.

        Raises:
            ModelFileError: If the file is missing, names untrusted types, or is
                corrupt or truncated.
        """
        try:
            data = persistence.bundled_model_bytes() if path is None else Path(path).read_bytes()
        except OSError as error:
            raise ModelFileError(f"cannot read model file: {error}") from error
        return cls.from_bytes(data, trusted_types=trusted_types, **options)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        trusted_types: Collection[str] = persistence.DEFAULT_TRUSTED_TYPES,
        **options: Any,
    ) -> "IrisClassifier":
        """Load a trained model from a skops file's bytes, without executing code from them.

        Args:
            data: The bytes of a file written by :meth:`save` or :meth:`to_bytes`.
            trusted_types: Types beyond skops' defaults the bytes may hold.
            **options: Keyword arguments of the constructor.

        Returns:
            A ready classifier.

        Raises:
            ModelFileError: If the bytes name untrusted types, are corrupt or truncated,
                or hold an inconsistent model.
        """
        estimator, raw_metadata = persistence.loads(data, trusted_types)
        metadata = ModelMetadata.from_dict(raw_metadata)
        classifier = cls(**options)
        try:
            classifier._keep(estimator, metadata, persistence.sha256_hex(data))
        except (TypeError, ValueError, AttributeError) as error:
            raise ModelFileError(f"model file holds an inconsistent model: {error!r}") from error
        classifier._file = data
        return classifier

    def download(self, url: str, sha256: str | None = None) -> Path:
        """Download a file (for example a data set package) into the cache folder.

        Args:
            url: An ``http://`` or ``https://`` address.
            sha256: Expected SHA-256 of the file; checked when given.

        Returns:
            Path of the file in :attr:`cache_dir`.

        Raises:
            DownloadError: If the download is refused, fails, is too large or too slow,
                or has the wrong checksum.
        """
        return download_file(
            url,
            self.cache_dir,
            sha256=sha256,
            max_bytes=self.download_max_bytes,
            timeout=self.download_timeout,
        )

    def _keep(self, estimator: Any, metadata: ModelMetadata, checksum: str | None) -> None:
        metadata.check_describes(estimator)
        self.estimator = estimator
        self.metadata = metadata
        self.checksum = checksum
        self._file = None
        self._file_types = None
        self._labels = dict(zip(estimator.classes_.tolist(), metadata.class_names, strict=True))

    def _require_estimator(self) -> Any:
        self._require_metadata()  # both are kept together
        return self.estimator

    def _require_metadata(self) -> ModelMetadata:
        if self.metadata is None:
            raise InvalidInputError("the classifier is not trained: call train() or load()")
        return self.metadata
