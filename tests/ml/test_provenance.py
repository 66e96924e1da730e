"""Library versions: recorded with each trained model, compared when a model file is loaded."""

import dataclasses
import logging
import platform
from pathlib import Path

import numpy
import pytest
import scipy
import sklearn
import skops

from mlapi.ml import IrisClassifier, ModelFileError, ModelMetadata, persistence
from mlapi.ml.provenance import (
    LIBRARIES,
    LibraryMismatch,
    check_libraries,
    differences,
    library_versions,
)

HERE = {
    "python": "3.11.7",
    "scikit-learn": "1.9.1",
    "skops": "0.16.0",
    "numpy": "2.4.6",
    "scipy": "1.17.1",
}


@pytest.fixture(scope="module")
def tree() -> IrisClassifier:
    classifier = IrisClassifier()
    data = classifier.dataset()
    classifier.train(data["X"], data["y"], max_depth=2)
    return classifier


def _file_made_with(classifier: IrisClassifier, libraries: dict[str, str] | None) -> bytes:
    metadata = dataclasses.replace(classifier.metadata, libraries=libraries)  # type: ignore[type-var]
    return persistence.dumps(classifier.estimator, metadata.to_dict())


def test_library_versions_are_those_this_process_runs() -> None:
    assert library_versions() == {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }
    assert set(library_versions()) == set(LIBRARIES)


def test_the_same_versions_do_not_differ() -> None:
    assert differences(HERE, HERE) == []


@pytest.mark.parametrize(
    ("library", "version"),
    [("scikit-learn", "1.9.2"), ("scikit-learn", "1.8.1"), ("skops", "0.16.1")],
)
def test_any_other_version_of_scikit_learn_or_skops_differs(library: str, version: str) -> None:
    found = differences({**HERE, library: version}, HERE)

    assert found == [f"{library} {version} (here {HERE[library]})"]


@pytest.mark.parametrize(
    ("library", "version", "differs"),
    [
        ("numpy", "2.0.0", False),
        ("numpy", "2.4.7", False),
        ("numpy", "1.26.4", True),
        ("scipy", "1.11.0", False),
        ("scipy", "2.0.0", True),
    ],
)
def test_numpy_and_scipy_differ_only_by_their_major_version(
    library: str, version: str, differs: bool
) -> None:
    assert bool(differences({**HERE, library: version}, HERE)) is differs


@pytest.mark.parametrize("version", ["3.12.1", "3.11.0", "4.0.0"])
def test_the_python_version_is_recorded_but_never_compared(version: str) -> None:
    assert differences({**HERE, "python": version}, HERE) == []


def test_a_library_not_installed_here_differs() -> None:
    here = {name: version for name, version in HERE.items() if name != "scipy"}

    assert differences(HERE, here) == ["scipy 1.17.1 (not installed here)"]


def test_libraries_the_record_does_not_name_or_mlapi_does_not_know_are_not_compared() -> None:
    recorded = {"scikit-learn": "1.9.1", "xgboost": "9.9.9"}

    assert differences(recorded, HERE) == []


def test_several_differences_are_all_named() -> None:
    recorded = {**HERE, "scikit-learn": "1.5.2", "numpy": "1.26.4"}

    assert differences(recorded, HERE) == [
        "scikit-learn 1.5.2 (here 1.9.1)",
        "numpy 1.26.4 (here 2.4.6)",
    ]


def test_check_refuses_other_versions_naming_the_model_and_each_library() -> None:
    recorded = {**library_versions(), "scikit-learn": "0.24.2"}

    with pytest.raises(ModelFileError) as refused:
        check_libraries(recorded, LibraryMismatch.REFUSE, "model version 7")

    message = str(refused.value)
    assert message.startswith("model version 7 was made by other library versions")
    assert f"scikit-learn 0.24.2 (here {sklearn.__version__})" in message
    assert "refused" in message


def test_check_warns_of_other_versions_and_lets_the_model_load(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorded = {**library_versions(), "skops": "0.9.0"}

    with caplog.at_level(logging.WARNING, logger="mlapi.ml.provenance"):
        check_libraries(recorded, LibraryMismatch.WARN, "model version 7")

    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    assert f"skops 0.9.0 (here {skops.__version__})" in caplog.text
    assert "model version 7" in caplog.text


@pytest.mark.parametrize("policy", list(LibraryMismatch))
def test_check_says_nothing_of_the_same_versions(
    policy: LibraryMismatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="mlapi.ml.provenance"):
        check_libraries(library_versions(), policy)

    assert caplog.records == []


@pytest.mark.parametrize("unknown", [None, {}, ["scikit-learn"]])
def test_a_model_with_no_record_of_its_libraries_is_refused_in_refuse_mode(
    unknown: object,
) -> None:
    with pytest.raises(ModelFileError, match="no record of the library versions"):
        check_libraries(unknown, LibraryMismatch.REFUSE, "model version 2")


def test_a_model_with_no_record_of_its_libraries_is_loaded_with_a_warning_in_warn_mode(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="mlapi.ml.provenance"):
        check_libraries(None, LibraryMismatch.WARN, "model version 2")

    assert "model version 2 has no record of the library versions" in caplog.text


def test_check_without_a_policy_compares_nothing() -> None:
    check_libraries({"scikit-learn": "0.24.2"}, None)
    check_libraries(None, None)


def test_training_records_the_library_versions_in_the_model_file(tree: IrisClassifier) -> None:
    assert tree.metadata is not None
    assert tree.metadata.libraries == library_versions()

    loaded = IrisClassifier.from_bytes(tree.to_bytes(), library_mismatch=LibraryMismatch.REFUSE)

    assert loaded.metadata is not None
    assert loaded.metadata.libraries == library_versions()


def test_metadata_written_before_libraries_were_recorded_has_none(tree: IrisClassifier) -> None:
    assert tree.metadata is not None
    values = tree.metadata.to_dict()
    del values["libraries"]

    assert ModelMetadata.from_dict(values).libraries is None


def test_loading_a_file_made_by_other_versions_is_refused_in_refuse_mode(
    tree: IrisClassifier,
) -> None:
    data = _file_made_with(tree, {**library_versions(), "scikit-learn": "1.0.2"})

    with pytest.raises(ModelFileError, match=r"model file was made by .*scikit-learn 1\.0\.2"):
        IrisClassifier.from_bytes(data, library_mismatch=LibraryMismatch.REFUSE)


def test_loading_a_file_made_by_other_versions_warns_by_default(
    tree: IrisClassifier, caplog: pytest.LogCaptureFixture
) -> None:
    data = _file_made_with(tree, {**library_versions(), "numpy": "1.26.4"})

    with caplog.at_level(logging.WARNING, logger="mlapi.ml.provenance"):
        loaded = IrisClassifier.from_bytes(data)

    assert loaded.predict([[5.1, 3.5, 1.4, 0.2]]) == tree.predict([[5.1, 3.5, 1.4, 0.2]])
    assert "numpy 1.26.4" in caplog.text


def test_load_of_a_path_passes_the_policy_on(tree: IrisClassifier, tmp_path: Path) -> None:
    path = tmp_path / "old.skops"
    path.write_bytes(_file_made_with(tree, None))

    with pytest.raises(ModelFileError, match="no record"):
        IrisClassifier.load(path, library_mismatch=LibraryMismatch.REFUSE)


def test_the_bundled_model_was_made_by_the_pinned_libraries() -> None:
    # Fails after the pins in requirements.txt change until `make model` rebuilds it.
    bundled = IrisClassifier.load(library_mismatch=LibraryMismatch.REFUSE)

    assert bundled.metadata is not None
    assert set(bundled.metadata.libraries or {}) == set(LIBRARIES)
