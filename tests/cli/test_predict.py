"""``mlapi predict``: rows from the command line or a CSV file, answered as JSON."""

from pathlib import Path

from tests.cli.conftest import SETOSA, Mlapi, as_json


def test_predict_rows_from_the_command_line(mlapi: Mlapi) -> None:
    answer = as_json(mlapi("predict", SETOSA, "6.7,3.0,5.2,2.3"))
    assert answer["prediction"] == [0, 2]
    assert answer["labels"] == ["setosa", "virginica"]
    assert answer["probability"][0] == [1.0, 0.0, 0.0]
    assert answer["model_version"] == 1


def test_predict_rows_from_a_csv_file_whose_header_names_the_features(
    mlapi: Mlapi, tmp_path: Path
) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "petal width (cm),sepal length (cm),sepal width (cm),petal length (cm)\n2.3,6.7,3.0,5.2\n"
    )
    assert as_json(mlapi("predict", "--csv", str(rows)))["prediction"] == [2]


def test_predict_csv_file_naming_an_unknown_feature_is_refused(
    mlapi: Mlapi, tmp_path: Path
) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n")
    result = mlapi("predict", "--csv", str(rows), exit_code=1)
    assert "row 0, column sepal_length: is not a feature" in result.stderr


def test_predict_refuses_text_where_the_model_takes_a_number(mlapi: Mlapi) -> None:
    result = mlapi("predict", "5.1,3.5,x,0.2", exit_code=1)
    assert "row 0, column 2" in result.stderr


def test_predict_refuses_a_row_of_the_wrong_width(mlapi: Mlapi) -> None:
    result = mlapi("predict", "5.1,3.5", exit_code=1)
    assert "error:" in result.stderr


def test_predict_without_rows_explains_how(mlapi: Mlapi) -> None:
    result = mlapi("predict", exit_code=2)
    assert "--csv" in result.output


def test_predict_csv_file_with_a_row_that_does_not_match_its_header_is_refused(
    mlapi: Mlapi, tmp_path: Path
) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("sepal length (cm),sepal width (cm)\n5.1\n")

    result = mlapi("predict", "--csv", str(rows), exit_code=2)

    assert "does not match" in result.output
