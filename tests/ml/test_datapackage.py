"""Reading data packages: real descriptors and CSV files written in each test."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_iris

from mlapi.ml import datasets
from mlapi.ml.datapackage import DESCRIPTOR, find_descriptor, read_package
from mlapi.ml.errors import DatasetError
from mlapi.ml.tabular import checksum

FIELDS = [
    {"name": "length", "type": "number"},
    {"name": "petals", "type": "integer"},
    {"name": "colour", "type": "string"},
    {"name": "species", "type": "string"},
]
CSV = "length,petals,colour,species\n1.5,3,red,rose\n2.25,5,white,lily\n0.5,3,red,rose\n"
NUMBERS = [{"name": "a", "type": "number"}, {"name": "species", "type": "string"}]
MISMATCH = "the CSV does not match its schema: "


def write_package(
    folder: Path,
    csv: str | bytes = CSV,
    fields: list[dict[str, str]] | None = None,
    target: str = "species",
    **resource: Any,
) -> Path:
    """Write ``datapackage.json`` and ``data.csv`` into ``folder``; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.csv").write_bytes(csv.encode() if isinstance(csv, str) else csv)
    properties = {"path": "data.csv", "target": target, "schema": {"fields": fields or FIELDS}}
    descriptor = {"name": "flowers", "resources": [{**properties, **resource}]}
    (folder / DESCRIPTOR).write_text(json.dumps(descriptor))
    return folder


def refusal(folder: Path, **options: Any) -> DatasetError:
    """Read the package, expecting it to be refused; return the error."""
    with pytest.raises(DatasetError) as caught:
        read_package(folder, **options)
    return caught.value


# Reading valid packages.


def test_read_package_reads_typed_features_and_names_classes(tmp_path: Path) -> None:
    dataset = read_package(write_package(tmp_path))

    assert dataset["name"] == "flowers"
    assert dataset["feature_names"] == ["length", "petals", "colour"]
    assert dataset["feature_types"] == ["number", "integer", "string"]
    assert dataset["X"].dtype == object
    assert dataset["X"].tolist() == [[1.5, 3, "red"], [2.25, 5, "white"], [0.5, 3, "red"]]
    assert dataset["class_names"] == ["lily", "rose"]
    assert dataset["y"].tolist() == [1, 0, 1]
    assert dataset["checksum"] == checksum(dataset["X"], dataset["y"])


def test_read_package_of_numeric_features_gives_floats_with_nan_where_empty(
    tmp_path: Path,
) -> None:
    fields = [{"name": "a", "type": "number"}, {"name": "b", "type": "integer"}, FIELDS[3]]
    csv = "a,b,species\n1.5,,rose\n,2,lily\n3,4,rose\n"

    dataset = read_package(write_package(tmp_path, csv, fields))

    assert dataset["X"].dtype == np.float64
    np.testing.assert_array_equal(dataset["X"], [[1.5, np.nan], [np.nan, 2], [3, 4]])


def test_read_package_treats_the_listed_missing_values_as_missing_and_no_others(
    tmp_path: Path,
) -> None:
    fields = [{"name": "a", "type": "number"}, {"name": "colour", "type": "string"}, FIELDS[3]]
    csv = "a,colour,species\nNA,,rose\n2,NA,lily\n"
    schema = {"fields": fields, "missingValues": ["NA"]}

    dataset = read_package(write_package(tmp_path, csv, schema=schema))

    assert dataset["X"][0, 0] != dataset["X"][0, 0]  # NaN
    assert dataset["X"][0, 1] == ""  # the empty string is a category once not listed
    assert dataset["X"][1, 1] != dataset["X"][1, 1]


def test_read_package_sorts_integer_classes_numerically(tmp_path: Path) -> None:
    fields = [NUMBERS[0], {"name": "grade", "type": "integer"}]
    csv = "a,grade\n1,10\n2,2\n3,10\n"

    dataset = read_package(write_package(tmp_path, csv, fields, target="grade"))

    assert dataset["class_names"] == ["2", "10"]
    assert dataset["y"].tolist() == [1, 0, 1]


def test_read_package_reads_a_schema_from_its_own_file(tmp_path: Path) -> None:
    folder = write_package(tmp_path, schema="schemas/flowers.json")
    (folder / "schemas").mkdir()
    (folder / "schemas" / "flowers.json").write_text(json.dumps({"fields": FIELDS}))

    assert read_package(folder)["feature_types"] == ["number", "integer", "string"]


def test_read_package_finds_the_descriptor_one_folder_down(tmp_path: Path) -> None:
    write_package(tmp_path / "flowers-1.0")

    assert find_descriptor(tmp_path) == tmp_path / "flowers-1.0" / DESCRIPTOR
    assert read_package(tmp_path)["class_names"] == ["lily", "rose"]


def test_read_package_splits_cells_on_the_dialect_delimiter(tmp_path: Path) -> None:
    csv = "length;petals;colour;species\n1.5;3;red, dark;rose\n2;5;white;lily\n"

    dataset = read_package(write_package(tmp_path, csv, dialect={"delimiter": ";"}))

    assert dataset["X"].tolist() == [[1.5, 3, "red, dark"], [2.0, 5, "white"]]


def test_read_package_decodes_the_declared_encoding(tmp_path: Path) -> None:
    csv = "length,petals,colour,species\n1,2,rouge foncé,rose\n2,3,blanc,lys\n"

    dataset = read_package(write_package(tmp_path, csv.encode("latin-1"), encoding="latin-1"))

    assert dataset["X"][0, 2] == "rouge foncé"


def test_read_package_accepts_exactly_max_rows(tmp_path: Path) -> None:
    assert len(read_package(write_package(tmp_path), max_rows=3)["y"]) == 3


def test_bundled_iris_is_exactly_scikit_learns_iris() -> None:
    expected = load_iris()

    dataset = datasets.bundled("iris")

    np.testing.assert_array_equal(dataset["X"], expected.data)
    np.testing.assert_array_equal(dataset["y"], expected.target)
    assert dataset["X"].dtype == np.float64
    assert dataset["feature_names"] == expected.feature_names
    assert dataset["class_names"] == expected.target_names.tolist()
    assert dataset["feature_types"] == ["number"] * 4
    assert datasets.iris()["checksum"] == dataset["checksum"]


# Bad cells, named by row (the header is row 1) and field.


@pytest.mark.parametrize(
    ("cell", "kind", "problem"),
    [
        ("abc", "number", "'abc' is not a finite number"),
        ("inf", "number", "'inf' is not a finite number"),
        ("nan", "number", "'nan' is not a finite number"),
        ("1.5", "integer", "'1.5' is not a finite integer"),
    ],
)
def test_read_package_names_row_and_field_of_a_value_of_the_wrong_type(
    cell: str, kind: str, problem: str, tmp_path: Path
) -> None:
    fields = [{"name": "a", "type": kind}, FIELDS[3]]
    csv = f"a,species\n1,rose\n{cell},lily\n"

    error = refusal(write_package(tmp_path, csv, fields))

    assert str(error) == f"{MISMATCH}row 3, field 'a': {problem}"


def test_read_package_names_rows_with_too_many_or_too_few_values(tmp_path: Path) -> None:
    csv = "a,species\n1,rose,extra\n2,lily\n3\n"

    error = refusal(write_package(tmp_path, csv, NUMBERS))

    assert str(error) == f"{MISMATCH}row 2: has 3 values, not 2; row 4: has 1 values, not 2"


def test_read_package_names_the_row_of_a_missing_target(tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path, "a,species\n1,rose\n2,\n3,lily\n", NUMBERS))

    assert str(error) == f"{MISMATCH}row 3, field 'species': the target is missing"


def test_read_package_lists_20_bad_cells_and_counts_the_rest(tmp_path: Path) -> None:
    csv = "a,species\n" + "x,rose\n" * 25

    error = refusal(write_package(tmp_path, csv, NUMBERS))

    assert str(error).count("is not a finite number") == 20
    assert "row 21, field 'a'" in str(error)
    assert str(error).endswith("row 21, field 'a': 'x' is not a finite number; and 5 more")


def test_read_package_lists_bad_cells_in_the_errors_problems(tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path, "a,species\nx,rose\n2,lily\n", NUMBERS))

    assert error.message == "the CSV does not match its schema"
    assert error.problems == ["row 2, field 'a': 'x' is not a finite number"]


def test_read_package_refuses_a_number_with_an_underscore(tmp_path: Path) -> None:
    fields = [{"name": "a", "type": "integer"}, FIELDS[3]]

    error = refusal(write_package(tmp_path, "a,species\n1_000,rose\n2,lily\n", fields))

    assert str(error) == f"{MISMATCH}row 2, field 'a': '1_000' is not a finite integer"


def test_read_package_counts_a_blank_line_as_a_row(tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path, "a,species\n1,rose\n\nx,lily\n", NUMBERS))

    assert str(error) == f"{MISMATCH}row 4, field 'a': 'x' is not a finite number"


# What cannot train a classifier.


def test_read_package_refuses_a_single_class(tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path, "a,species\n1,rose\n2,rose\n", NUMBERS))

    assert error.message == "the target 'species' has one class; a classifier needs two"


def test_read_package_refuses_more_rows_than_max_rows(tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path), max_rows=2)

    assert error.message == "the CSV has over 2 rows"


# A descriptor that does not describe the CSV, or a bad descriptor.


def test_read_package_refuses_a_header_in_another_order_than_the_schema(tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path, "species,a\nrose,1\nlily,2\n", NUMBERS))

    assert error.message == (
        "the CSV header ['species', 'a'] must name the schema's fields in order: ['a', 'species']"
    )


def test_read_package_reads_a_csv_that_starts_with_a_byte_order_mark(tmp_path: Path) -> None:
    folder = write_package(tmp_path, "\ufeffa,species\n1,rose\n2,lily\n", NUMBERS)

    assert read_package(folder)["feature_names"] == ["a"]


def test_read_package_refuses_a_target_that_is_not_a_field(tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path, target="kind"))

    assert error.message == "target 'kind' is not a field of the schema"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            [{"name": "a", "type": "number"}, {"name": "species", "type": "number"}],
            "field 'species' has type 'number'; the target must be ('string', 'integer')",
        ),
        (
            [{"name": "a", "type": "date"}, {"name": "species", "type": "string"}],
            "field 'a' has type 'date'; a feature must be ('number', 'integer', 'string')",
        ),
        (
            [{"name": "a"}, {"name": "a"}, {"name": "species"}],
            "schema field names must be unique",
        ),
    ],
    ids=["number-target", "date-feature", "duplicate-names"],
)
def test_read_package_refuses_a_schema_it_cannot_train_on(
    fields: list[dict[str, str]], message: str, tmp_path: Path
) -> None:
    assert refusal(write_package(tmp_path, fields=fields)).message == message


@pytest.mark.parametrize(
    "path", ["../data.csv", "sub/../../data.csv", "/etc/passwd", "https://example.com/data.csv"]
)
def test_read_package_refuses_a_path_outside_the_package(path: str, tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path / "package", path=path))

    assert error.message == f"path {path!r} must be relative and inside the package"


def test_read_package_refuses_a_missing_csv_file(tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path, path="absent.csv"))

    assert error.message == "the package has no file 'absent.csv'"


@pytest.mark.parametrize("folders", [[], ["one", "two"]], ids=["none", "two"])
def test_read_package_refuses_a_folder_without_exactly_one_descriptor(
    folders: list[str], tmp_path: Path
) -> None:
    for name in folders:
        write_package(tmp_path / name)

    error = refusal(tmp_path)

    assert error.message == f"the package must hold one datapackage.json, found {len(folders)}"


def test_read_package_refuses_a_descriptor_that_is_not_json(tmp_path: Path) -> None:
    folder = write_package(tmp_path)
    (folder / DESCRIPTOR).write_text('{"name": "flowers", ')

    assert refusal(folder).message.startswith("cannot read datapackage.json: ")


def test_read_package_refuses_a_descriptor_without_a_target(tmp_path: Path) -> None:
    folder = write_package(tmp_path)
    descriptor = {"resources": [{"path": "data.csv", "schema": {"fields": FIELDS}}]}
    (folder / DESCRIPTOR).write_text(json.dumps(descriptor))

    assert refusal(folder).message == (
        "datapackage.json is invalid: resources/0/target: Field required"
    )


def test_read_package_refuses_a_descriptor_over_one_mebibyte(tmp_path: Path) -> None:
    folder = write_package(tmp_path, description="x" * 1024 * 1024)

    assert refusal(folder).message == "datapackage.json is over 1048576 bytes"


def test_read_package_refuses_an_unknown_encoding(tmp_path: Path) -> None:
    error = refusal(write_package(tmp_path, encoding="no-such-codec"))

    assert error.message == "cannot read 'data.csv': unknown encoding: no-such-codec"


def test_read_package_refuses_bytes_that_are_not_utf_8(tmp_path: Path) -> None:
    csv = "length,petals,colour,species\n1,2,rouge foncé,rose\n2,3,blanc,lys\n"

    error = refusal(write_package(tmp_path, csv.encode("latin-1")))

    assert error.message.startswith("cannot read 'data.csv': 'utf-8' codec can't decode")


@pytest.mark.parametrize(
    ("cell", "kind"), [("1e999", "number"), ("-1e999", "number"), ("9" * 19, "integer")]
)
def test_values_beyond_the_column_type_are_refused_naming_the_cell(
    tmp_path: Path, cell: str, kind: str
) -> None:
    fields = [{"name": "a", "type": kind}, {"name": "species", "type": "string"}]
    write_package(tmp_path, f"a,species\n1,rose\n{cell},lily\n", fields)

    assert refusal(tmp_path).problems == [f"row 3, field 'a': {cell!r} is not a finite {kind}"]
