"""The article's ``IrisClassifier``: train, save, load and predict with one estimator.

It is plain Python and numpy with no web imports, so the notebook, the CLI and the REST
service all use it the same way::

    from mlapi.ml import IrisClassifier

    clf = IrisClassifier.load()                   # the bundled pre-trained model
    data = clf.dataset()
    clf.train(data["X"], data["y"], gradient_boosting=True)
    clf.predict([[5.1, 3.5, 1.4, 0.2]])
"""

from collections.abc import Collection, Sequence
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from mlapi.ml import datasets, persistence, training
from mlapi.ml.datasets import Dataset
from mlapi.ml.download import download as download_file
from mlapi.ml.errors import InvalidInputError, ModelFileError
from mlapi.ml.estimators import DEFAULT_ALGORITHM, ProgressCallback, algorithm_for, get_estimator
from mlapi.ml.evaluation import Evaluation
from mlapi.ml.kernels import Proba, kernel_for
from mlapi.ml.metadata import ModelMetadata
from mlapi.ml.provenance import LibraryMismatch, check_libraries
from mlapi.ml.rows import rows_from_objects, validate_rows, validate_typed_rows
from mlapi.ml.tabular import FeatureType, takes_raw_values

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
        allowed_networks: Internal networks :meth:`download` may reach (see
            :func:`mlapi.ml.download.download`); only public addresses if empty.

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
        allowed_networks: Sequence[IPv4Network | IPv6Network] = (),
    ) -> None:
        self.test_size = test_size
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.download_max_bytes = download_max_bytes
        self.download_timeout = download_timeout
        self.allowed_networks = allowed_networks
        self.estimator: Any = None
        self.metadata: ModelMetadata | None = None
        self.checksum: str | None = None
        self._labels: dict[Any, str] = {}
        #: Whether the model takes text or missing values (through its preprocessing).
        self.typed = False
        self._kernel: Proba | None = None
        # skops output differs on every call (memory ids, zip timestamps), so the bytes
        # are kept: the same model then always has the same file and checksum.
        self._file: bytes | None = None
        self._file_types: list[str] | None = None

    @staticmethod
    def dataset(package: str | Path | None = None) -> Dataset:
        """Load a data set: Iris, or a data package (e.g. one :meth:`download` fetched).

        Args:
            package: A data package's folder or ``.zip``/``.tar.gz`` file (see
                :mod:`mlapi.ml.datapackage`); the bundled Iris package if None.

        Returns:
            ``X``, ``y`` (class indices), the names and types of the features, the
            class names; for Iris, 150 x 4 floats and classes 0, 1, 2.

        Raises:
            DatasetError: If the package is unsafe or invalid.
        """
        return datasets.iris() if package is None else datasets.load_package(Path(package))

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

        Read from the file this classifier wrote of its own estimator, or that already
        passed the allow-list it was loaded with.
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
        feature_types: list[FeatureType] | None = None,
        dataset_url: str | None = None,
        dataset_sha256: str | None = None,
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
            feature_types: ``number``, ``integer`` or ``string`` (categorical) per column;
                all numbers if None. With types, NaN in ``X`` is a missing value.
            dataset_url: Where the data set came from, recorded with the model.
            dataset_sha256: SHA-256 of the data set's package file, likewise.
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
            feature_types=feature_types,
            dataset_url=dataset_url,
            dataset_sha256=dataset_sha256,
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
            InvalidInputError: As :meth:`validate_rows` says.
        """
        probability, prediction = self.predict_arrays(self.validate_rows(X))
        return Prediction(prediction=prediction.tolist(), probability=probability.tolist())

    def validate_rows(self, X: Any) -> np.ndarray:  # noqa: N803 - the article's name
        """Check rows against the trained model and convert them to a matrix it takes.

        Args:
            X: Rows of features: lists in column order, or dicts keyed by feature name.

        Returns:
            A matrix of shape ``(rows, n_features)``: float64, or objects for a model
            with categorical columns; NaN for missing values where the model takes them.

        Raises:
            InvalidInputError: Naming each row of the wrong width or with the wrong
                features, and each cell of the wrong type (text in a numeric column, a
                number that is not finite, a missing value the model cannot fill in).
        """
        metadata = self._require_metadata()
        rows = rows_from_objects(X, metadata.feature_names)
        if self.typed:
            return validate_typed_rows(rows, metadata.feature_types)
        return validate_rows(rows, self.n_features)

    def predict_arrays(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predict from :meth:`validate_rows`' output: probabilities (rows x classes), classes."""
        probability: np.ndarray = (self._kernel or self._require_estimator().predict_proba)(rows)
        return probability, self.estimator.classes_[probability.argmax(axis=1)]

    def labels(self, prediction: list[Any]) -> list[str]:
        """Name each predicted class (as :meth:`predict` gives them)."""
        return [self._labels[value] for value in prediction]

    def to_bytes(self) -> bytes:
        """Serialise the trained model as a skops file's bytes.

        The same trained or loaded model always gives the same bytes: those it was
        loaded from, else those of its first serialisation.
        """
        if self._file is None:
            self._file = persistence.dumps(
                self._require_estimator(), self._require_metadata().to_dict()
            )
        return self._file

    def save(self, path: str | Path) -> str:
        """Save the trained model to a skops file, atomically (its folder made if missing).

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
            path: A file written by :meth:`save`; None loads the bundled pre-trained model.
            trusted_types: Types beyond skops' defaults the file may hold (by default,
                those of the article's algorithms); see :attr:`trusted_types`.
            **options: Keyword arguments of :meth:`from_bytes` and of the constructor.

        Returns:
            A ready classifier.

        Raises:
            ModelFileError: If the file is missing, names untrusted types, is corrupt or
                truncated, or was made by other library versions and is refused.
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
        reader: persistence.Reader = persistence.loads,
        library_mismatch: LibraryMismatch | None = LibraryMismatch.WARN,
        **options: Any,
    ) -> "IrisClassifier":
        """Load a trained model from a file's bytes as :meth:`load` does, read by ``reader``.

        ``library_mismatch`` as in :mod:`mlapi.ml.provenance`; None compares no library
        versions, for a caller that compares a record of its own (the registry).

        Raises:
            ModelFileError: As :meth:`load` says, or if they hold an inconsistent model.
        """
        estimator, raw_metadata = reader(data, trusted_types)
        metadata = ModelMetadata.from_dict(raw_metadata)
        check_libraries(metadata.libraries, library_mismatch)
        classifier = cls(**options)
        try:
            classifier._keep(estimator, metadata, persistence.sha256_hex(data))
        except (TypeError, ValueError, AttributeError) as error:
            raise ModelFileError(f"model file holds an inconsistent model: {error!r}") from error
        classifier._file = data
        return classifier

    def download(self, url: str, sha256: str | None = None) -> Path:
        """Download a file (a data package, say) into :attr:`cache_dir`, as the limits allow.

        Args:
            url: An ``http://`` or ``https://`` address (public, unless allowed).
            sha256: Expected SHA-256 of the file; checked when given.

        Returns:
            Path of the file; pass it to :meth:`dataset`.

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
            allowed_networks=self.allowed_networks,
        )

    def _keep(self, estimator: Any, metadata: ModelMetadata, checksum: str | None) -> None:
        metadata.check_describes(estimator)
        self.estimator, self.metadata, self.checksum = estimator, metadata, checksum
        self._file, self._file_types = None, None
        self._labels = dict(zip(estimator.classes_.tolist(), metadata.class_names, strict=True))
        self.typed = takes_raw_values(estimator)
        self._kernel = kernel_for(estimator)  # scikit-learn's kernels without its checks

    def _require_estimator(self) -> Any:
        return self._require_metadata() and self.estimator  # both are kept together

    def _require_metadata(self) -> ModelMetadata:
        if self.metadata is None:
            raise InvalidInputError("the classifier is not trained: call train() or load()")
        return self.metadata
