"""Model files: the allow-list refuses crafted files before any of their code can run."""

import hashlib
import io
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
import skops.io as sio

from mlapi.ml import CATALOGUE, IrisClassifier, ModelFileError, persistence
from mlapi.ml.estimators import trusted_types


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


def _trained(algorithm: str) -> IrisClassifier:
    classifier = IrisClassifier()
    data = classifier.dataset()
    classifier.train(data["X"], data["y"], algorithm=algorithm)
    return classifier


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
        persistence.loads(data)

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
        persistence.loads(crafted)


def test_loads_refuses_truncated_model_file() -> None:
    data = persistence.dumps(*_estimator_and_metadata("decision_tree"))

    with pytest.raises(ModelFileError, match="not a readable model file"):
        persistence.loads(data[: len(data) // 2])


def test_loads_refuses_random_bytes() -> None:
    noise = hashlib.sha512(b"seed").digest() * 64

    with pytest.raises(ModelFileError, match="not a readable model file"):
        persistence.loads(noise)


def test_loads_refuses_empty_bytes() -> None:
    with pytest.raises(ModelFileError):
        persistence.loads(b"")


def test_loads_refuses_valid_skops_file_holding_a_plain_dict() -> None:
    data = sio.dumps({"weights": [1, 2, 3]})

    with pytest.raises(ModelFileError, match="not hold an mlapi model"):
        persistence.loads(data)


def test_loads_refuses_file_of_unknown_format_version() -> None:
    estimator, metadata = _estimator_and_metadata("decision_tree")
    data = sio.dumps({"format": 99, "estimator": estimator, "metadata": metadata})

    with pytest.raises(ModelFileError, match="known format"):
        persistence.loads(data)


def test_loads_refuses_model_file_without_a_classifier() -> None:
    data = sio.dumps({"format": persistence.FORMAT_VERSION, "estimator": "tree", "metadata": {}})

    with pytest.raises(ModelFileError, match="lacks a classifier"):
        persistence.loads(data)


def test_dumps_then_loads_returns_equal_metadata_and_same_predictions() -> None:
    classifier = _trained("decision_tree")
    rows = classifier.dataset()["X"]

    estimator, metadata = persistence.loads(
        persistence.dumps(classifier.estimator, classifier.metadata.to_dict())
    )

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


@pytest.mark.parametrize("algorithm", list(CATALOGUE))
def test_trained_estimator_files_name_only_trusted_types(algorithm: str) -> None:
    data = persistence.dumps(*_estimator_and_metadata(algorithm))

    untrusted = sio.get_untrusted_types(data=data)

    assert set(untrusted) <= set(trusted_types())


def _estimator_and_metadata(algorithm: str) -> tuple[Any, dict[str, Any]]:
    classifier = _trained(algorithm)
    return classifier.estimator, classifier.metadata.to_dict()
