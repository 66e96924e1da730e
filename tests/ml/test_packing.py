"""Packing CSV files as data packages, and reading the packages back as training will."""

import os
from pathlib import Path

import numpy as np
import pytest

from mlapi.ml import IrisClassifier
from mlapi.ml.datasets import load_package
from mlapi.ml.errors import DatasetError
from mlapi.ml.packing import infer_fields, pack, package_name

CSV = "length,petals,colour,species\n1.5,3,red,rose\n2,5,white,lily\n0.5,,red,rose\n"


@pytest.fixture
def flowers(tmp_path: Path) -> Path:
    """A CSV file of number, integer (with a blank) and string columns, and a target."""
    source = tmp_path / "source"
    source.mkdir()
    path = source / "flowers.csv"
    path.write_text(CSV)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder to write packages into."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


# Inferring the schema.


def test_infer_fields_types_each_column_by_all_its_present_values(flowers: Path) -> None:
    assert infer_fields(flowers, "species") == [
        {"name": "length", "type": "number"},
        {"name": "petals", "type": "integer"},
        {"name": "colour", "type": "string"},
        {"name": "species", "type": "string"},
    ]


def test_infer_fields_reads_a_late_text_value_as_string(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b,y\n1,1.5,x\n2,,x\n3,n/a,z\n")

    assert [field["type"] for field in infer_fields(path, "y")] == ["integer", "string", "string"]


def test_infer_fields_makes_a_decimal_target_a_string_and_keeps_an_integer_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,grade,score\n1,1.0,7\n2,2.0,8\n")

    assert infer_fields(path, "grade")[1] == {"name": "grade", "type": "string"}
    assert infer_fields(path, "score")[2] == {"name": "score", "type": "integer"}


def test_infer_fields_refuses_a_target_that_is_not_a_column(flowers: Path) -> None:
    with pytest.raises(DatasetError, match=r"target 'kind' is not a column of flowers\.csv"):
        infer_fields(flowers, "kind")


@pytest.mark.parametrize(
    ("file_name", "name"),
    [
        ("My Data.tar.gz", "my-data"),
        ("iris.zip", "iris"),
        ("Iris v1.2.zip", "iris-v1.2"),
        ("__.zip", "dataset"),
    ],
)
def test_package_name_is_the_file_name_in_lower_case_without_its_suffix(
    file_name: str, name: str
) -> None:
    assert package_name(Path(file_name)) == name


def test_package_name_strips_the_tgz_suffix() -> None:
    assert package_name(Path("My Data.tgz")) == "my-data"


def test_pack_writes_a_package_named_after_a_long_file_name(flowers: Path, out: Path) -> None:
    output = out / f"{'flowers-' * 20}.zip"

    assert len(pack(flowers, "species", output)["name"]) <= 100


# Packing and reading back.


@pytest.mark.parametrize("file_name", ["flowers.zip", "flowers.tar.gz"])
def test_pack_writes_a_package_that_loads_as_the_data_set_it_returns(
    file_name: str, flowers: Path, out: Path
) -> None:
    output = out / file_name

    packed = pack(flowers, "species", output)
    loaded = load_package(output, scratch=out)

    assert sorted(os.listdir(out)) == [file_name]  # the scratch folder is gone too
    assert loaded["name"] == packed["name"] == "flowers"
    assert loaded["feature_types"] == ["number", "integer", "string"]
    assert loaded["class_names"] == ["lily", "rose"]
    assert loaded["checksum"] == packed["checksum"]
    np.testing.assert_array_equal(loaded["y"], packed["y"])
    assert loaded["X"][2, 1] != loaded["X"][2, 1]  # the blank integer is NaN


def test_pack_takes_the_one_csv_of_a_folder(flowers: Path, out: Path) -> None:
    dataset = pack(flowers.parent, "species", out / "flowers.zip")

    assert dataset["feature_names"] == ["length", "petals", "colour"]


def test_pack_with_a_semicolon_delimiter_writes_it_in_the_dialect(
    tmp_path: Path, out: Path
) -> None:
    source = tmp_path / "data.csv"
    source.write_text("a;colour;y\n1;red, dark;x\n2;white;z\n")

    pack(source, "y", out / "data.tar.gz", delimiter=";")
    loaded = load_package(out / "data.tar.gz")

    assert loaded["X"].tolist() == [[1, "red, dark"], [2, "white"]]


# Refusals leave nothing behind.


def test_pack_refuses_a_folder_of_two_csv_files(flowers: Path, out: Path) -> None:
    (flowers.parent / "other.csv").write_text(CSV)

    with pytest.raises(DatasetError, match="must be a CSV file or a folder of one, found 2"):
        pack(flowers.parent, "species", out / "flowers.zip")

    assert os.listdir(out) == []


def test_pack_refuses_a_missing_target_column(flowers: Path, out: Path) -> None:
    with pytest.raises(DatasetError, match="target 'kind' is not a column"):
        pack(flowers, "kind", out / "flowers.zip")

    assert os.listdir(out) == []


@pytest.mark.parametrize("file_name", ["flowers.tar", "flowers.csv", "flowers.gz"])
def test_pack_refuses_an_output_that_is_not_zip_or_tar_gz(
    file_name: str, flowers: Path, out: Path
) -> None:
    with pytest.raises(DatasetError, match=rf"{file_name} must end in \.zip or \.tar\.gz"):
        pack(flowers, "species", out / file_name)

    assert os.listdir(out) == []


def test_pack_of_a_ragged_csv_names_the_row_and_writes_nothing(tmp_path: Path, out: Path) -> None:
    source = tmp_path / "data.csv"
    source.write_text("a,y\n1,x\n2,z,3\n3,x\n")

    with pytest.raises(DatasetError) as caught:
        pack(source, "y", out / "data.zip")

    assert str(caught.value) == "the CSV does not match its schema: row 3: has 3 values, not 2"
    assert os.listdir(out) == []


def test_pack_that_fails_keeps_the_previous_package(flowers: Path, out: Path) -> None:
    output = out / "flowers.zip"
    pack(flowers, "species", output)
    before = output.read_bytes()
    flowers.write_text("length,species\n1,rose\n2,\n")  # a missing target

    with pytest.raises(DatasetError, match="row 3, field 'species': the target is missing"):
        pack(flowers, "species", output)

    assert os.listdir(out) == ["flowers.zip"]
    assert output.read_bytes() == before


def test_pack_writes_a_package_that_trains_a_model_of_raw_values(tmp_path: Path, out: Path) -> None:
    source = tmp_path / "flowers.csv"
    rows = [
        f"{index % 4 or ''},{['red', 'white', ''][index % 3]},{index % 3}" for index in range(30)
    ]
    source.write_text("length,colour,species\n" + "\n".join(rows) + "\n")
    pack(source, "species", out / "flowers.zip")
    dataset = load_package(out / "flowers.zip")
    classifier = IrisClassifier()

    classifier.train(
        dataset["X"],
        dataset["y"],
        feature_types=dataset["feature_types"],
        feature_names=dataset["feature_names"],
        class_names=dataset["class_names"],
        dataset_name=dataset["name"],
    )

    assert dataset["feature_types"] == ["integer", "string"]
    assert classifier.labels(classifier.predict([[None, "white"]])["prediction"]) == ["1"]
