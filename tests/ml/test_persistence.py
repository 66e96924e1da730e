"""Model files: the allow-list refuses crafted files before any of their code can run.

The allow-list comes from the caller, never from the file: the default one covers decision
trees and gradient boosting; a model of another algorithm is loaded with the types its own
file held when it was trained (:attr:`IrisClassifier.trusted_types`).
"""

import hashlib
import io
import json
import os
import re
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import skops.io as sio

from mlapi.ml import CATALOGUE, IrisClassifier, ModelFileError, persistence

DEFAULT = persistence.DEFAULT_TRUSTED_TYPES
TREE = "sklearn.tree._tree.Tree"
TREE_PREDICTOR = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
#: Hyperparameters that keep each algorithm's training short.
SMALL: dict[str, dict[str, Any]] = {
    "gradient_boosting": {"n_estimators": 10},
    "hist_gradient_boosting": {"max_iter": 10},
}


class MarkerWriter:
    """A payload class: skops calls ``__setstate__`` on load, which writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).write_text("code from a model file ran")
        self.__dict__.update(state)


MARKER_TYPE = f"{MarkerWriter.__module__}.{MarkerWriter.__qualname__}"


def _model_shaped(estimator: Any) -> bytes:
    """Bytes laid out like an mlapi model file, holding ``estimator``."""
    return sio.dumps({"format": persistence.FORMAT_VERSION, "estimator": estimator, "metadata": {}})


def _rewrite_schema(data: bytes, old: dict[str, str], new: dict[str, str]) -> bytes:
    """Return the skops archive with every schema node matching ``old`` changed to ``new``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    replaced = 0

    def visit(node: Any) -> None:
        nonlocal replaced
        if isinstance(node, dict):
            if all(node.get(key) == value for key, value in old.items()):
                node.update(new)
                replaced += 1
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    visit(schema)
    assert replaced == 1
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = (
                json.dumps(schema).encode() if item.filename == "schema.json" else source.read(item)
            )
            target.writestr(item, content)
    return out.getvalue()


@pytest.fixture(scope="module")
def trained() -> Callable[[str], IrisClassifier]:
    """Train a small model of an algorithm on first use; later calls share it (read only)."""
    classifiers: dict[str, IrisClassifier] = {}

    def get(algorithm: str) -> IrisClassifier:
        if algorithm not in classifiers:
            classifier = IrisClassifier()
            data = classifier.dataset()
            classifier.train(data["X"], data["y"], algorithm=algorithm, **SMALL.get(algorithm, {}))
            classifiers[algorithm] = classifier
        return classifiers[algorithm]

    return get


def _file_of(classifier: IrisClassifier) -> bytes:
    """A fresh model file of the classifier's estimator and metadata."""
    assert classifier.metadata is not None
    return persistence.dumps(classifier.estimator, classifier.metadata.to_dict())


def test_marker_payload_runs_code_when_skops_is_told_to_trust_it(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    data = sio.dumps(MarkerWriter(marker))

    assert sio.get_untrusted_types(data=data) == [MARKER_TYPE]
    loaded = sio.loads(data, trusted=[MARKER_TYPE])

    assert isinstance(loaded, MarkerWriter)
    assert marker.read_text() == "code from a model file ran"


def test_loads_refuses_untrusted_class_without_running_its_code(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    data = _model_shaped(MarkerWriter(marker))

    with pytest.raises(ModelFileError, match=MARKER_TYPE):
        persistence.loads(data, DEFAULT)

    assert not marker.exists()


def test_classifier_load_refuses_untrusted_class_without_running_its_code(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.skops"
    path.write_bytes(_model_shaped(MarkerWriter(marker)))

    with pytest.raises(ModelFileError, match=MARKER_TYPE):
        IrisClassifier.load(path)

    assert not marker.exists()


@pytest.mark.parametrize(
    ("module", "name"), [("builtins", "eval"), ("builtins", "exec"), ("os", "system")]
)
def test_loads_refuses_file_naming_dangerous_callable(module: str, name: str) -> None:
    harmless = sio.dumps({"format": persistence.FORMAT_VERSION, "estimator": len, "metadata": {}})
    crafted = _rewrite_schema(
        harmless,
        {"__class__": "len", "__module__": "builtins"},
        {"__class__": name, "__module__": module},
    )
    assert sio.get_untrusted_types(data=crafted) == [f"{module}.{name}"]

    with pytest.raises(ModelFileError, match=rf"untrusted types, refused: {module}\.{name}"):
        persistence.loads(crafted, DEFAULT)


def test_loads_refuses_truncated_model_file(trained: Callable[[str], IrisClassifier]) -> None:
    data = _file_of(trained("decision_tree"))

    with pytest.raises(ModelFileError, match="not a readable model file"):
        persistence.loads(data[: len(data) // 2], DEFAULT)


def test_loads_refuses_random_bytes() -> None:
    noise = hashlib.sha512(b"seed").digest() * 64

    with pytest.raises(ModelFileError, match="not a readable model file"):
        persistence.loads(noise, DEFAULT)


def test_loads_refuses_empty_bytes() -> None:
    with pytest.raises(ModelFileError):
        persistence.loads(b"", DEFAULT)


def test_loads_refuses_valid_skops_file_holding_a_plain_dict() -> None:
    data = sio.dumps({"weights": [1, 2, 3]})

    with pytest.raises(ModelFileError, match="not hold an mlapi model"):
        persistence.loads(data, DEFAULT)


def test_loads_refuses_file_of_unknown_format_version(
    trained: Callable[[str], IrisClassifier],
) -> None:
    tree = trained("decision_tree")
    assert tree.metadata is not None
    data = sio.dumps(
        {"format": 99, "estimator": tree.estimator, "metadata": tree.metadata.to_dict()}
    )

    with pytest.raises(ModelFileError, match="known format"):
        persistence.loads(data, DEFAULT)


def test_loads_refuses_model_file_without_a_classifier() -> None:
    data = sio.dumps({"format": persistence.FORMAT_VERSION, "estimator": "tree", "metadata": {}})

    with pytest.raises(ModelFileError, match="lacks a classifier"):
        persistence.loads(data, DEFAULT)


def test_dumps_then_loads_returns_equal_metadata_and_same_predictions(
    trained: Callable[[str], IrisClassifier],
) -> None:
    classifier = trained("decision_tree")
    assert classifier.metadata is not None
    rows = classifier.dataset()["X"]

    estimator, metadata = persistence.loads(_file_of(classifier), DEFAULT)

    assert metadata == classifier.metadata.to_dict()
    assert (
        estimator.predict_proba(rows).tolist() == classifier.estimator.predict_proba(rows).tolist()
    )


def test_sha256_hex_matches_hashlib() -> None:
    assert persistence.sha256_hex(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_write_atomic_writes_content_with_mode_644_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "model.skops"

    persistence.write_atomic(path, b"first")
    persistence.write_atomic(path, b"second")

    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(path.parent) == ["model.skops"]


def test_write_atomic_failure_removes_temporary_file(tmp_path: Path) -> None:
    blocked = tmp_path / "model.skops"
    blocked.mkdir()  # renaming a file over a folder fails

    with pytest.raises(OSError, match=r"[Ii]s a directory"):
        persistence.write_atomic(blocked, b"data")

    assert os.listdir(tmp_path) == ["model.skops"]
    assert blocked.is_dir()


# Which types a file names, and which the loader trusts


def test_file_types_of_a_decision_tree_file_name_the_tree_structure(
    trained: Callable[[str], IrisClassifier],
) -> None:
    assert persistence.file_types(_file_of(trained("decision_tree"))) == [TREE]


def test_file_types_are_sorted_and_name_each_type_once(
    trained: Callable[[str], IrisClassifier],
) -> None:
    boosting, hist = trained("gradient_boosting"), trained("hist_gradient_boosting")
    data = sio.dumps({"hist": hist.estimator, "boosting": boosting.estimator})  # 30 trees

    assert persistence.file_types(data) == [TREE_PREDICTOR, TREE]


def test_file_types_of_unreadable_bytes_raise_model_file_error() -> None:
    with pytest.raises(ModelFileError, match="not a readable model file"):
        persistence.file_types(b"not a zip archive")


@pytest.mark.parametrize("algorithm", ["decision_tree", "gradient_boosting"])
def test_default_trusted_types_cover_the_article_algorithms(
    trained: Callable[[str], IrisClassifier], algorithm: str
) -> None:
    assert set(persistence.file_types(_file_of(trained(algorithm)))) <= set(DEFAULT)


def test_default_trusted_types_cover_the_bundled_model() -> None:
    data = persistence.bundled_model_bytes()

    assert set(persistence.file_types(data)) <= set(DEFAULT)
    assert data == (Path(persistence.__file__).parent / "model.skops").read_bytes()


@pytest.mark.parametrize("algorithm", list(CATALOGUE))
def test_classifier_trusted_types_are_exactly_the_types_of_its_own_file(
    trained: Callable[[str], IrisClassifier], algorithm: str
) -> None:
    classifier = trained(algorithm)
    data = classifier.to_bytes()

    assert classifier.trusted_types == persistence.file_types(data)
    loaded = IrisClassifier.from_bytes(data, trusted_types=classifier.trusted_types)
    assert loaded.trusted_types == classifier.trusted_types


@pytest.mark.parametrize("algorithm", list(CATALOGUE))
def test_trained_model_of_every_algorithm_round_trips_with_its_own_trusted_types(
    trained: Callable[[str], IrisClassifier], algorithm: str
) -> None:
    classifier = trained(algorithm)
    data = classifier.to_bytes()
    rows = classifier.dataset()["X"].tolist()

    loaded = IrisClassifier.from_bytes(data, trusted_types=classifier.trusted_types)

    assert loaded.checksum == persistence.sha256_hex(data)
    assert loaded.metadata == classifier.metadata
    assert type(loaded.estimator) is type(classifier.estimator)
    assert loaded.predict(rows) == classifier.predict(rows)


def test_hist_gradient_boosting_file_holds_a_type_outside_the_default_allow_list(
    trained: Callable[[str], IrisClassifier],
) -> None:
    trusted = trained("hist_gradient_boosting").trusted_types

    assert TREE_PREDICTOR in trusted
    assert TREE_PREDICTOR not in DEFAULT


def test_classifier_load_refuses_hist_gradient_boosting_model_with_the_default_allow_list(
    trained: Callable[[str], IrisClassifier], tmp_path: Path
) -> None:
    classifier = trained("hist_gradient_boosting")
    path = tmp_path / "hist.skops"
    path.write_bytes(classifier.to_bytes())  # not save(): the classifier is shared

    with pytest.raises(ModelFileError, match=rf"untrusted types, refused: {TREE_PREDICTOR}"):
        IrisClassifier.load(path)


def test_classifier_load_accepts_hist_gradient_boosting_model_given_its_own_trusted_types(
    trained: Callable[[str], IrisClassifier], tmp_path: Path
) -> None:
    classifier = trained("hist_gradient_boosting")
    path = tmp_path / "hist.skops"
    path.write_bytes(classifier.to_bytes())  # not save(): the classifier is shared
    rows = classifier.dataset()["X"].tolist()

    loaded = IrisClassifier.load(path, trusted_types=classifier.trusted_types)

    assert loaded.metadata == classifier.metadata
    assert loaded.predict(rows) == classifier.predict(rows)


def test_loads_refuses_a_harmless_type_missing_from_the_allow_list(
    trained: Callable[[str], IrisClassifier],
) -> None:
    data = _file_of(trained("decision_tree"))  # its only extra type, Tree, is harmless

    with pytest.raises(ModelFileError, match=rf"untrusted types, refused: {TREE}"):
        persistence.loads(data, [])
    with pytest.raises(ModelFileError, match=TREE):
        persistence.loads(data, [TREE_PREDICTOR])

    estimator, _ = persistence.loads(data, [TREE])
    assert hasattr(estimator, "predict_proba")


@pytest.mark.parametrize("never", ["builtins.eval", "os.system", "subprocess.Popen"])
def test_loads_never_trusts_a_type_outside_the_trustable_packages(
    trained: Callable[[str], IrisClassifier], never: str
) -> None:
    data = _file_of(trained("decision_tree"))

    with pytest.raises(ModelFileError, match=rf"never trusts: {re.escape(never)}"):
        persistence.loads(data, [*DEFAULT, never])


def test_check_trustable_accepts_the_packages_models_are_made_of() -> None:
    persistence.check_trustable(
        ["sklearn.tree._tree.Tree", "numpy.dtype", "scipy.sparse.csr_matrix", "mlapi.ml.x.Y"]
    )


def test_model_files_are_deflated_and_load_back(trained: Callable[[str], IrisClassifier]) -> None:
    classifier = trained("gradient_boosting")
    data = classifier.to_bytes()

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        stored = sum(member.file_size for member in members)
    assert {member.compress_type for member in members} == {zipfile.ZIP_DEFLATED}
    assert len(data) < stored / 3  # many small, alike trees: the file shrinks a lot
    loaded = IrisClassifier.from_bytes(data)
    assert loaded.predict([[5.1, 3.5, 1.4, 0.2]]) == classifier.predict([[5.1, 3.5, 1.4, 0.2]])
