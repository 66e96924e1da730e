"""The ``mlapi`` command: in-process on a local registry, and against a server with ``--url``."""

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mlapi.cli import cli
from mlapi.ml import IrisClassifier
from tests.e2e.conftest import LiveServer, start_server

#: A setosa row: the bundled decision tree is certain of it, gradient boosting is not.
SETOSA = "5.1,3.5,1.4,0.2"

runner = CliRunner()

Mlapi = Callable[..., Result]


@pytest.fixture
def mlapi(tmp_path: Path) -> Mlapi:
    """Run ``mlapi`` in-process on a registry private to the test.

    The returned function takes the arguments, and ``exit_code`` (0 by default) to check.
    """
    env = {"MLAPI_MODEL_DIR": str(tmp_path / "models"), "MLAPI_CACHE_DIR": str(tmp_path / "cache")}

    def invoke(*args: str, exit_code: int = 0) -> Result:
        result = runner.invoke(cli, list(args), env=env)
        assert result.exit_code == exit_code, result.output
        return result

    return invoke


def listed_versions(output: str) -> dict[int, bool]:
    """Read ``mlapi models list``'s table: each version and whether it is marked active."""
    rows = re.findall(r"^\W\s*(\d+)\s*\W\s*(\*?)\s*\W", output, flags=re.MULTILINE)
    return {int(version): marker == "*" for version, marker in rows}


def as_json(result: Result) -> Any:
    """Parse a command's standard output as JSON."""
    return json.loads(result.stdout)


# --- train ----------------------------------------------------------------------------------


def test_train_wait_prints_metrics_and_activates_the_new_version(mlapi: Mlapi) -> None:
    result = mlapi(
        "train", "--algorithm", "gradient_boosting", "--param", "n_estimators=5", "--wait"
    )
    assert "model version 2 (gradient_boosting) is now active" in result.stdout
    assert "held-out accuracy" in result.stdout
    assert "setosa" in result.stdout
    assert "100%" in result.stderr  # the progress bar
    model = as_json(mlapi("models", "show", "2"))
    assert model["active"] is True
    assert model["algorithm"] == "gradient_boosting"
    assert model["hyperparameters"]["n_estimators"] == 5
    assert model["created_by"] == "cli"


def test_train_wait_records_a_succeeded_job(mlapi: Mlapi) -> None:
    mlapi("train", "--wait")
    listing = mlapi("jobs", "list").stdout
    [job_id] = re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", listing)
    job = as_json(mlapi("jobs", "show", job_id))
    assert job["state"] == "succeeded"
    assert job["progress"] == 1
    assert job["model_version"] == 2
    assert job["algorithm"] == "decision_tree"


def test_train_wait_no_activate_leaves_the_active_version(mlapi: Mlapi) -> None:
    result = mlapi("train", "--wait", "--no-activate", "--seed", "7", "--test-size", "0.5")
    assert "model version 2 (decision_tree)\n" in result.stdout
    assert listed_versions(mlapi("models", "list").stdout) == {2: False, 1: True}
    model = as_json(mlapi("models", "show", "2"))
    assert model["metrics"]["test_rows"] == 75


def test_train_without_wait_queues_a_job(mlapi: Mlapi) -> None:
    result = mlapi("train", "--algorithm", "gradient_boosting")
    match = re.search(r"queued training job (\S+);", result.stdout)
    assert match is not None, result.stdout
    job = as_json(mlapi("jobs", "show", match.group(1)))
    assert job["state"] == "queued"
    assert job["progress"] == 0
    assert job["model_version"] is None
    assert job["created_by"] == "cli"
    assert listed_versions(mlapi("models", "list").stdout) == {1: True}


def test_train_with_output_writes_that_file_only(mlapi: Mlapi, tmp_path: Path) -> None:
    output = tmp_path / "model.skops"
    result = mlapi("train", "--output", str(output))
    assert "model saved to" in result.stdout
    assert IrisClassifier.load(output).predict([[5.1, 3.5, 1.4, 0.2]])["prediction"] == [0]
    assert not (tmp_path / "models").exists()


def test_train_refuses_bad_hyperparameter_clearly(mlapi: Mlapi) -> None:
    result = mlapi("train", "--param", "max_depth=0", "--wait", exit_code=1)
    assert "max_depth" in result.stderr
    assert "Traceback" not in result.output


def test_train_refuses_unknown_hyperparameter_clearly(mlapi: Mlapi) -> None:
    result = mlapi(
        "train", "--algorithm", "decision_tree", "--param", "n_estimators=5", exit_code=1
    )
    assert "n_estimators" in result.stderr


def test_train_passes_param_values_as_json_else_as_text(mlapi: Mlapi) -> None:
    mlapi(
        "train",
        "--algorithm",
        "gradient_boosting",
        "--param",
        "n_estimators=3",
        "--param",
        "learning_rate=0.5",
        "--wait",
    )
    hyperparameters = as_json(mlapi("models", "show", "2"))["hyperparameters"]
    assert (hyperparameters["n_estimators"], hyperparameters["learning_rate"]) == (3, 0.5)
    result = mlapi("train", "--param", "criterion=gini", "--param", "max_depth=x", exit_code=1)
    assert "max_depth" in result.stderr


@pytest.mark.parametrize("param", ["max_depth", "=3", ""])
def test_train_refuses_param_that_is_not_key_value(mlapi: Mlapi, param: str) -> None:
    result = mlapi("train", "--param", param, exit_code=2)
    assert "--param" in result.output
    assert "key=value" in result.output


def test_train_refuses_unknown_algorithm(mlapi: Mlapi) -> None:
    result = mlapi("train", "--algorithm", "magic", exit_code=2)
    assert "magic" in result.output


@pytest.mark.parametrize("test_size", ["0", "1", "1.5"])
def test_train_refuses_test_size_outside_zero_one(mlapi: Mlapi, test_size: str) -> None:
    mlapi("train", "--test-size", test_size, exit_code=2)


# --- models and jobs -------------------------------------------------------------------------


def test_models_list_shows_versions_newest_first_with_the_active_marked(mlapi: Mlapi) -> None:
    mlapi("train", "--algorithm", "gradient_boosting", "--param", "n_estimators=3", "--wait")
    mlapi("train", "--wait", "--no-activate")
    result = mlapi("models", "list")
    assert listed_versions(result.stdout) == {3: False, 2: True, 1: False}
    assert list(listed_versions(result.stdout)) == [3, 2, 1]
    assert "3 of 3 versions" in result.stdout
    page = mlapi("models", "list", "--limit", "1", "--offset", "1").stdout
    assert listed_versions(page) == {2: True}
    assert "1 of 3 versions" in page


def test_models_list_refuses_a_bad_limit(mlapi: Mlapi) -> None:
    mlapi("models", "list", "--limit", "0", exit_code=2)
    mlapi("models", "list", "--limit", "501", exit_code=2)


def test_models_show_prints_the_version_as_json(mlapi: Mlapi) -> None:
    model = as_json(mlapi("models", "show", "1"))
    assert model["version"] == 1
    assert model["active"] is True
    assert model["algorithm"] == "decision_tree"
    assert model["class_names"] == ["setosa", "versicolor", "virginica"]
    assert len(model["checksum"]) == 64


@pytest.mark.parametrize("version", ["0", "2147483648", "one"])
def test_models_commands_refuse_a_version_out_of_range(mlapi: Mlapi, version: str) -> None:
    for command in ("show", "activate", "delete"):
        mlapi("models", command, version, exit_code=2)


def test_models_show_unknown_version_fails_clearly(mlapi: Mlapi) -> None:
    result = mlapi("models", "show", "9", exit_code=1)
    assert "error: model version 9 does not exist" in result.stderr


def test_models_activate_then_predict_uses_that_version(mlapi: Mlapi) -> None:
    mlapi("train", "--algorithm", "gradient_boosting", "--param", "n_estimators=5", "--wait")
    boosted = as_json(mlapi("predict", SETOSA))
    assert boosted["model_version"] == 2
    assert boosted["probability"] != [[1.0, 0.0, 0.0]]

    assert "model version 1 is now active" in mlapi("models", "activate", "1").stdout
    rolled_back = as_json(mlapi("predict", SETOSA))
    assert rolled_back["model_version"] == 1
    assert rolled_back["probability"] == [[1.0, 0.0, 0.0]]
    assert listed_versions(mlapi("models", "list").stdout) == {2: False, 1: True}

    asked = as_json(mlapi("predict", SETOSA, "--model-version", "2"))
    assert asked == boosted


def test_models_activate_unknown_version_fails_and_changes_nothing(mlapi: Mlapi) -> None:
    result = mlapi("models", "activate", "5", exit_code=1)
    assert "model version 5 does not exist" in result.stderr
    assert listed_versions(mlapi("models", "list").stdout) == {1: True}


def test_models_delete_of_the_active_version_fails_clearly(mlapi: Mlapi) -> None:
    result = mlapi("models", "delete", "1", exit_code=1)
    assert result.stderr == "error: model version 1 is active: activate another first\n"
    assert listed_versions(mlapi("models", "list").stdout) == {1: True}


def test_models_delete_removes_another_version(mlapi: Mlapi) -> None:
    mlapi("train", "--wait", "--no-activate")
    assert mlapi("models", "delete", "2").stdout == "model version 2 deleted\n"
    assert listed_versions(mlapi("models", "list").stdout) == {1: True}
    mlapi("models", "show", "2", exit_code=1)
    mlapi("predict", SETOSA, "--model-version", "2", exit_code=1)


def test_jobs_list_and_show(mlapi: Mlapi) -> None:
    mlapi("train", "--wait")
    queued = re.search(r"queued training job (\S+);", mlapi("train").stdout)
    assert queued is not None
    listing = mlapi("jobs", "list").stdout
    assert "2 of 2 jobs" in listing
    assert "queued" in listing
    assert "succeeded" in listing
    page = mlapi("jobs", "list", "--limit", "1").stdout
    assert "1 of 2 jobs" in page
    assert "queued" in page  # newest first
    job = as_json(mlapi("jobs", "show", queued.group(1)))
    assert job["id"] == queued.group(1)
    assert job["state"] == "queued"


def test_jobs_show_unknown_job_fails_clearly(mlapi: Mlapi) -> None:
    result = mlapi("jobs", "show", "no-such-job", exit_code=1)
    assert "error: training job no-such-job does not exist" in result.stderr


# --- predict and configuration -------------------------------------------------------------


def test_predict_rows_from_the_command_line(mlapi: Mlapi) -> None:
    answer = as_json(mlapi("predict", SETOSA, "6.7,3.0,5.2,2.3"))
    assert answer["prediction"] == [0, 2]
    assert answer["labels"] == ["setosa", "virginica"]
    assert answer["probability"][0] == [1.0, 0.0, 0.0]
    assert answer["model_version"] == 1


def test_predict_rows_from_a_csv_file_with_header(mlapi: Mlapi, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n")
    assert as_json(mlapi("predict", "--csv", str(rows)))["prediction"] == [0]


def test_predict_refuses_a_row_that_is_not_numbers(mlapi: Mlapi) -> None:
    mlapi("predict", "5.1,3.5,x,0.2", exit_code=2)


def test_predict_refuses_a_row_of_the_wrong_width(mlapi: Mlapi) -> None:
    result = mlapi("predict", "5.1,3.5", exit_code=1)
    assert "error:" in result.stderr


def test_predict_without_rows_explains_how(mlapi: Mlapi) -> None:
    result = mlapi("predict", exit_code=2)
    assert "--csv" in result.output


def test_config_file_option_is_read(mlapi: Mlapi, tmp_path: Path) -> None:
    config = tmp_path / "mlapi.toml"
    config.write_text(
        'default_algorithm = "gradient_boosting"\n'
        "[hyperparameters.gradient_boosting]\n"
        "n_estimators = 3\n"
    )
    output = tmp_path / "m.skops"
    mlapi("--config", str(config), "train", "--output", str(output))
    metadata = IrisClassifier.load(output).metadata
    assert metadata is not None
    assert metadata.hyperparameters["n_estimators"] == 3


def test_invalid_configuration_is_reported() -> None:
    result = runner.invoke(cli, ["models", "list"], env={"MLAPI_PORT": "not-a-port"})
    assert result.exit_code == 2
    assert "invalid configuration" in result.output


# --- against a server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One ``mlapi serve`` subprocess for the ``--url`` tests of this module."""
    server = start_server(tmp_path_factory.mktemp("cli-server"))
    yield server
    server.stop()


def test_train_wait_url_shows_progress_and_metrics(mlapi: Mlapi, live_server: LiveServer) -> None:
    result = mlapi(
        "train",
        "--algorithm",
        "gradient_boosting",
        "--param",
        "n_estimators=50",
        "--wait",
        "--url",
        live_server.url,
    )
    assert "100%" in result.stderr
    match = re.search(r"model version (\d+) \(gradient_boosting\) is now active", result.stdout)
    assert match is not None, result.stdout
    assert "held-out accuracy" in result.stdout
    with live_server.client() as client:
        assert client.get("/v1/model").json()["version"] == int(match.group(1))
    listing = mlapi("models", "list", "--url", live_server.url).stdout
    assert listed_versions(listing)[int(match.group(1))] is True


def test_models_activate_url_then_predict_url_answers_with_it(
    mlapi: Mlapi, live_server: LiveServer
) -> None:
    trained = mlapi(
        "train", "--algorithm", "gradient_boosting", "--wait", "--url", live_server.url
    ).stdout
    match = re.search(r"model version (\d+)", trained)
    assert match is not None, trained
    boosted = int(match.group(1))

    assert "model version 1 is now active" in (
        mlapi("models", "activate", "1", "--url", live_server.url).stdout
    )
    answer = as_json(mlapi("predict", SETOSA, "--url", live_server.url))
    assert answer["model_version"] == 1
    assert answer["probability"] == [[1.0, 0.0, 0.0]]
    with live_server.client() as client:
        article = client.post("/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]}).json()
    assert article["probability"] == [[1.0, 0.0, 0.0]]

    mlapi("models", "activate", str(boosted), "--url", live_server.url)
    answer = as_json(mlapi("predict", SETOSA, "--url", live_server.url))
    assert answer["model_version"] == boosted
    assert answer["probability"] != [[1.0, 0.0, 0.0]]
    asked = as_json(mlapi("predict", SETOSA, "--model-version", "1", "--url", live_server.url))
    assert asked["model_version"] == 1


def test_url_errors_are_reported_from_the_problem(mlapi: Mlapi, live_server: LiveServer) -> None:
    active = mlapi("models", "show", "1", "--url", live_server.url)
    if as_json(active)["active"]:
        mlapi("train", "--wait", "--url", live_server.url)
    result = mlapi("models", "delete", "--url", live_server.url, "99", exit_code=1)
    assert "error: model version 99 does not exist [HTTP 404 Not Found]" in result.stderr
    active_version = mlapi("models", "list", "--url", live_server.url).stdout
    [version] = [number for number, active in listed_versions(active_version).items() if active]
    result = mlapi("models", "delete", str(version), "--url", live_server.url, exit_code=1)
    assert f"model version {version} is active: activate another first" in result.stderr
    assert "[HTTP 409 Conflict]" in result.stderr
    result = mlapi("train", "--param", "max_depth=0", "--url", live_server.url, exit_code=1)
    assert "#/hyperparameters/max_depth" in result.stderr
    assert "[HTTP 422 Unprocessable" in result.stderr


def test_url_that_does_not_answer_is_reported(mlapi: Mlapi) -> None:
    result = mlapi("models", "list", "--url", "http://127.0.0.1:9", exit_code=1)
    assert "cannot reach the server" in result.stderr
