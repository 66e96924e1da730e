"""The article's ``IrisClassifier``: train, save, load and predict with one estimator.

It is plain Python and numpy with no web imports, so the notebook, the CLI and the REST
service all use it the same way::

    from mlapi.ml import IrisClassifier

    clf = IrisClassifier.load()                   # the bundled pre-trained model
    data = clf.dataset()
    clf.train(data["X"], data["y"], gradient_boosting=True)
    clf.predict([[5.1, 3.5, 1.4, 0.2]])
"""

import dataclasses
import hashlib
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

from mlapi import __version__
from mlapi.ml import persistence
from mlapi.ml.download import download as download_file
from mlapi.ml.errors import FieldError, InvalidInputError, ModelFileError
from mlapi.ml.estimators import DEFAULT_ALGORITHM, ProgressCallback, get_estimator
from mlapi.ml.evaluation import Evaluation, evaluate

#: Where downloads go unless the caller says otherwise.
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "mlapi"

#: Most offending cells listed in one error; the rest are counted, not listed.
_MAX_LISTED_ERRORS = 20


class Dataset(TypedDict):
    """A tabular classification data set, as :meth:`IrisClassifier.dataset` returns it."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    class_names: list[str]


class Prediction(TypedDict):
    """The article's prediction answer: a class and class probabilities per row."""

    prediction: list[int]
    probability: list[list[float]]


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


class IrisClassifier:
    """A classifier trained on the Iris data set (or any tabular data set) and served by mlapi.

    Args:
        hyperparameter_defaults: Default hyperparameters per algorithm name, applied
            under those passed to :meth:`train`.
        default_algorithm: Algorithm trained when ``gradient_boosting`` is False.
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
        hyperparameter_defaults: Mapping[str, Mapping[str, Any]] | None = None,
        default_algorithm: str = DEFAULT_ALGORITHM,
        test_size: float = 0.2,
        random_state: int = 0,
        cache_dir: Path = DEFAULT_CACHE_DIR,
        download_max_bytes: int = 100 * 1024 * 1024,
        download_timeout: float = 60.0,
    ) -> None:
        self.hyperparameter_defaults = dict(hyperparameter_defaults or {})
        self.default_algorithm = get_estimator(default_algorithm).name
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

    @staticmethod
    def dataset() -> Dataset:
        """Load the Iris data set shipped with scikit-learn.

        Returns:
            ``X`` (150 x 4 float features), ``y`` (class 0, 1 or 2), the feature names
            and the class names.
        """
        iris = load_iris()
        return Dataset(
            X=iris.data,
            y=iris.target,
            feature_names=list(iris.feature_names),
            class_names=[str(name) for name in iris.target_names],
        )

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
            **hyperparameters: Hyperparameters of the algorithm, over the configured
                defaults.

        Returns:
            Metrics of the new model on the held-out rows.

        Raises:
            InvalidInputError: If the algorithm, a hyperparameter or the data is invalid.
        """
        name = algorithm or ("gradient_boosting" if gradient_boosting else self.default_algorithm)
        spec = get_estimator(name)
        params = spec.validate(
            {**self.hyperparameter_defaults.get(spec.name, {}), **hyperparameters}
        )
        features = np.asarray(X, dtype=np.float64)
        target = np.asarray(y)
        if features.ndim != 2 or len(features) != len(target) or len(features) < 2:
            raise InvalidInputError("X must be a 2-D matrix with one row per value of y")
        if not np.isfinite(features).all():
            raise InvalidInputError("X must hold only finite numbers")
        labels = np.unique(target)
        feature_names = feature_names or _default_feature_names(features.shape[1])
        class_names = class_names or _default_class_names(labels)
        if len(feature_names) != features.shape[1] or len(class_names) != len(labels):
            raise InvalidInputError("feature_names and class_names must match the data")

        counts = np.unique(target, return_counts=True)[1]
        try:
            X_train, X_test, y_train, y_test = train_test_split(  # noqa: N806
                features,
                target,
                test_size=self.test_size,
                random_state=self.random_state,
                stratify=target if counts.min() >= 2 else None,
            )
            started = time.perf_counter()
            estimator = spec.fit_estimator(
                spec.build(params), X_train, y_train, progress or _ignore_progress
            )
            training_seconds = time.perf_counter() - started
        except (ValueError, OverflowError) as error:
            raise InvalidInputError(f"cannot train on this data: {error}") from error
        evaluation = evaluate(y_test, estimator.predict(X_test), labels, class_names)
        self._keep(
            estimator,
            ModelMetadata(
                algorithm=spec.name,
                hyperparameters=params.model_dump(),
                feature_names=list(feature_names),
                class_names=list(class_names),
                trained_at=datetime.now(UTC),
                training_rows=len(X_train),
                training_seconds=training_seconds,
                dataset_name=dataset_name,
                dataset_checksum=_dataset_checksum(features, target),
                evaluation=evaluation,
                mlapi_version=__version__,
            ),
            checksum=None,
        )
        return evaluation

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
                finite number.
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
        width = self.n_features
        if isinstance(X, list):
            if not X:
                raise InvalidInputError(
                    "no rows", [FieldError(("data",), "must not be empty", "empty")]
                )
            wrong = [
                FieldError(("data", index), f"must have exactly {width} values", "wrong_width")
                for index, row in enumerate(X)
                if not isinstance(row, list | tuple | np.ndarray) or len(row) != width
            ]
            if wrong:
                raise InvalidInputError("rows of the wrong width", _capped(wrong))
        try:
            rows = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise InvalidInputError(f"rows must be numbers: {error}") from error
        if rows.ndim != 2 or rows.shape[1] != width or len(rows) == 0:
            raise InvalidInputError(f"rows must be a matrix with {width} columns")
        finite = np.isfinite(rows)
        if not finite.all():
            raise InvalidInputError(
                "values must be finite numbers",
                _capped(
                    [
                        FieldError(("data", int(r), int(c)), "must be a finite number", "finite")
                        for r, c in np.argwhere(~finite)
                    ]
                ),
            )
        return rows

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
    def load(cls, path: str | Path | None = None, **options: Any) -> "IrisClassifier":
        """Load a trained model without executing code from its file.

        Args:
            path: A file written by :meth:`save`; None loads the pre-trained model
                bundled with mlapi.
            **options: Keyword arguments of the constructor.

        Returns:
            A ready classifier.

        Raises:
            ModelFileError: If the file is missing, names untrusted types, or is
                corrupt or truncated.
        """
        try:
            data = bundled_model_bytes() if path is None else Path(path).read_bytes()
        except OSError as error:
            raise ModelFileError(f"cannot read model file: {error}") from error
        return cls.from_bytes(data, **options)

    @classmethod
    def from_bytes(cls, data: bytes, **options: Any) -> "IrisClassifier":
        """Load a trained model from a skops file's bytes, without executing code from them.

        Args:
            data: The bytes of a file written by :meth:`save` or :meth:`to_bytes`.
            **options: Keyword arguments of the constructor.

        Returns:
            A ready classifier.

        Raises:
            ModelFileError: If the bytes name untrusted types, are corrupt or truncated,
                or hold an inconsistent model.
        """
        estimator, raw_metadata = persistence.loads(data)
        classifier = cls(**options)
        try:
            classifier._keep(
                estimator, ModelMetadata.from_dict(raw_metadata), persistence.sha256_hex(data)
            )
            classifier._file = data
        except ModelFileError:
            raise
        except Exception as error:
            raise ModelFileError(f"model file holds an inconsistent model: {error!r}") from error
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
        classes = getattr(estimator, "classes_", None)
        if classes is None or len(metadata.class_names) != len(classes):
            raise ModelFileError("model metadata does not match its estimator's classes")
        if getattr(estimator, "n_features_in_", None) != len(metadata.feature_names):
            raise ModelFileError("model metadata does not match its estimator's features")
        self.estimator = estimator
        self.metadata = metadata
        self.checksum = checksum
        self._file = None
        self._labels = dict(zip(estimator.classes_.tolist(), metadata.class_names, strict=True))

    def _require_estimator(self) -> Any:
        if self.estimator is None:
            raise InvalidInputError("the classifier is not trained: call train() or load()")
        return self.estimator

    def _require_metadata(self) -> ModelMetadata:
        if self.metadata is None:
            raise InvalidInputError("the classifier is not trained: call train() or load()")
        return self.metadata


def bundled_model_bytes() -> bytes:
    """Read the pre-trained model file shipped inside the package.

    Returns:
        The file's bytes.
    """
    return resources.files("mlapi.ml").joinpath("model.skops").read_bytes()


def _ignore_progress(_done: float) -> None:
    pass


def _dataset_checksum(features: np.ndarray, target: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(features, dtype=np.float64).tobytes())
    digest.update(np.asarray(target).astype(str).astype("U").tobytes())
    return digest.hexdigest()


def _default_feature_names(width: int) -> list[str]:
    iris = IrisClassifier.dataset()
    return iris["feature_names"] if width == 4 else [f"feature_{i}" for i in range(width)]


def _default_class_names(labels: np.ndarray) -> list[str]:
    if labels.tolist() == [0, 1, 2]:
        return IrisClassifier.dataset()["class_names"]
    return [str(label) for label in labels.tolist()]


def _capped(errors: list[FieldError]) -> list[FieldError]:
    if len(errors) <= _MAX_LISTED_ERRORS:
        return errors
    more = len(errors) - _MAX_LISTED_ERRORS
    return [*errors[:_MAX_LISTED_ERRORS], FieldError(("data",), f"and {more} more", "truncated")]
