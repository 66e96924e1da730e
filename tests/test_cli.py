"""The ``mlapi`` command, run in-process."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlapi.cli import cli
from mlapi.ml import IrisClassifier

runner = CliRunner()


def test_train_prints_held_out_metrics_and_saves_the_active_model(tmp_path: Path) -> None:
    result = runner.invoke(
        cli,
        ["train", "--algorithm", "gradient_boosting", "--param", "n_estimators=5"],
        env={"MLAPI_MODEL_DIR": str(tmp_path / "models")},
    )
    assert result.exit_code == 0, result.output
    assert "held-out accuracy" in result.output
    assert "setosa" in result.output
    model = IrisClassifier.load(tmp_path / "models" / "active.skops")
    assert model.metadata is not None
    assert model.metadata.algorithm == "gradient_boosting"
    assert model.metadata.hyperparameters["n_estimators"] == 5


def test_train_with_output_writes_that_file(tmp_path: Path) -> None:
    output = tmp_path / "model.skops"
    result = runner.invoke(cli, ["train", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert IrisClassifier.load(output).predict([[5.1, 3.5, 1.4, 0.2]])["prediction"] == [0]


def test_train_refuses_bad_hyperparameter_clearly(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["train", "--param", "max_depth=0"])
    assert result.exit_code == 1
    assert "max_depth" in result.output


def test_train_refuses_unknown_algorithm() -> None:
    result = runner.invoke(cli, ["train", "--algorithm", "magic"])
    assert result.exit_code == 2
    assert "magic" in result.output


def test_train_refuses_param_without_equals() -> None:
    result = runner.invoke(cli, ["train", "--param", "max_depth"])
    assert result.exit_code == 2


def test_predict_rows_from_the_command_line() -> None:
    result = runner.invoke(cli, ["predict", "5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["prediction"] == [0, 2]
    assert answer["labels"] == ["setosa", "virginica"]
    assert answer["probability"][0] == [1.0, 0.0, 0.0]


def test_predict_rows_from_a_csv_file_with_header(tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n")
    result = runner.invoke(cli, ["predict", "--csv", str(rows)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["prediction"] == [0]


@pytest.mark.parametrize("row", ["5.1,3.5,x,0.2", "5.1,3.5"])
def test_predict_refuses_bad_rows(row: str) -> None:
    result = runner.invoke(cli, ["predict", row])
    assert result.exit_code != 0


def test_predict_without_rows_explains_how() -> None:
    result = runner.invoke(cli, ["predict"])
    assert result.exit_code == 2
    assert "--csv" in result.output


def test_config_file_option_is_read(tmp_path: Path) -> None:
    config = tmp_path / "mlapi.toml"
    config.write_text(
        'default_algorithm = "gradient_boosting"\n'
        "[hyperparameters.gradient_boosting]\n"
        "n_estimators = 3\n"
    )
    output = tmp_path / "m.skops"
    result = runner.invoke(cli, ["--config", str(config), "train", "--output", str(output)])
    assert result.exit_code == 0, result.output
    metadata = IrisClassifier.load(output).metadata
    assert metadata is not None
    assert metadata.hyperparameters["n_estimators"] == 3


def test_invalid_configuration_is_reported() -> None:
    result = runner.invoke(cli, ["train"], env={"MLAPI_PORT": "not-a-port"})
    assert result.exit_code == 2
    assert "invalid configuration" in result.output
