"""``mlapi train``: queue a job, run it and wait, or only write a model file."""

import re
from pathlib import Path

import pytest

from mlapi.ml import IrisClassifier
from tests.cli.conftest import SETOSA, Mlapi, active_version, as_json, listed_versions
from tests.e2e.conftest import LiveServer

#: The line a failed waited-for job ends with; the job's id is group 1.
FAILED_JOB = re.compile(
    r"^error: training job ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) "
    r"failed: cannot train on this data",
    flags=re.MULTILINE,
)


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


def test_train_format_json_prints_the_queued_job(mlapi: Mlapi) -> None:
    job = as_json(
        mlapi(
            "--format",
            "json",
            "train",
            "--algorithm",
            "gradient_boosting",
            "--param",
            "n_estimators=3",
            "--seed",
            "7",
        )
    )
    assert job["state"] == "queued"
    assert job["progress"] == 0
    assert job["algorithm"] == "gradient_boosting"
    assert job["hyperparameters"]["n_estimators"] == 3
    assert job["random_state"] == 7
    assert job["activate"] is True
    assert job["created_by"] == "cli"
    assert job["model_version"] is None
    assert job["error"] is None
    assert job == as_json(mlapi("jobs", "show", job["id"]))


def test_train_wait_format_json_prints_the_new_version(mlapi: Mlapi) -> None:
    result = mlapi(
        "--format",
        "json",
        "train",
        "--algorithm",
        "gradient_boosting",
        "--param",
        "n_estimators=5",
        "--wait",
    )
    model = as_json(result)  # standard output holds the JSON only; the bar is on stderr
    assert model["version"] == 2
    assert model["active"] is True
    assert model["algorithm"] == "gradient_boosting"
    assert model["hyperparameters"]["n_estimators"] == 5
    assert model["created_by"] == "cli"
    assert model["accuracy"] == model["metrics"]["accuracy"]
    assert model == as_json(mlapi("models", "show", "2"))


def test_train_with_output_writes_that_file_only(mlapi: Mlapi, tmp_path: Path) -> None:
    output = tmp_path / "model.skops"
    result = mlapi("train", "--output", str(output))
    assert "model saved to" in result.stdout
    assert IrisClassifier.load(output).predict([[5.1, 3.5, 1.4, 0.2]])["prediction"] == [0]
    assert not (tmp_path / "models").exists()


def test_train_output_with_url_is_refused(mlapi: Mlapi, tmp_path: Path) -> None:
    output = tmp_path / "model.skops"
    result = mlapi("--url", "http://127.0.0.1:9", "train", "--output", str(output), exit_code=2)
    assert "--output" in result.stderr
    assert "leave out --url" in result.stderr
    assert not output.exists()


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


def test_train_wait_hist_gradient_boosting_registers_a_version_predict_answers_with(
    mlapi: Mlapi,
) -> None:
    # Its files hold a type beyond the default trusted ones: registering reads the file
    # back, and predicting in a later process loads it, both with the types it recorded.
    result = mlapi(
        "train", "--algorithm", "hist_gradient_boosting", "--param", "max_iter=10", "--wait"
    )
    assert "model version 2 (hist_gradient_boosting) is now active" in result.stdout
    model = as_json(mlapi("models", "show", "2"))
    assert model["algorithm"] == "hist_gradient_boosting"
    assert model["hyperparameters"]["max_iter"] == 10
    answer = as_json(mlapi("predict", SETOSA))
    assert answer["model_version"] == 2
    assert answer["labels"] == ["setosa"]


def test_train_wait_of_a_job_that_fails_reports_why(mlapi: Mlapi) -> None:
    # Accepted as an option, but it leaves one training row for three classes.
    result = mlapi("train", "--test-size", "0.99", "--wait", exit_code=1)
    match = FAILED_JOB.search(result.stderr)
    assert match is not None, result.stderr
    job = as_json(mlapi("jobs", "show", match.group(1)))
    assert job["state"] == "failed"
    assert job["error"].startswith("cannot train on this data")
    assert listed_versions(mlapi("models", "list").stdout) == {1: True}


# --- against a server ----------------------------------------------------------------------


def test_train_wait_url_shows_progress_and_metrics(mlapi: Mlapi, live_server: LiveServer) -> None:
    result = mlapi(
        "--url",
        live_server.url,
        "train",
        "--algorithm",
        "gradient_boosting",
        "--param",
        "n_estimators=50",
        "--wait",
    )
    assert "100%" in result.stderr
    match = re.search(r"model version (\d+) \(gradient_boosting\) is now active", result.stdout)
    assert match is not None, result.stdout
    assert "held-out accuracy" in result.stdout
    with live_server.client() as client:
        assert client.get("/v1/model").json()["version"] == int(match.group(1))
    listing = mlapi("--url", live_server.url, "models", "list").stdout
    assert listed_versions(listing)[int(match.group(1))] is True


def test_train_wait_url_of_a_job_that_fails_reports_why(
    mlapi: Mlapi, live_server: LiveServer
) -> None:
    before = active_version(live_server)
    result = mlapi("--url", live_server.url, "train", "--test-size", "0.99", "--wait", exit_code=1)
    match = FAILED_JOB.search(result.stderr)
    assert match is not None, result.stderr
    with live_server.client() as client:
        job = client.get(f"/v1/jobs/{match.group(1)}").json()
    assert job["state"] == "failed"
    assert active_version(live_server) == before


def test_train_dataset_url_queues_a_job_naming_the_package_and_its_checksum(
    mlapi: Mlapi,
) -> None:
    digest = "ab" * 32
    job = as_json(
        mlapi(
            "--format",
            "json",
            "train",
            "--dataset",
            "https://example.org/flowers.zip",
            "--sha256",
            digest,
        )
    )

    assert job["dataset"] == {
        "url": "https://example.org/flowers.zip",
        "sha256": digest,
        "name": None,
    }


def test_train_dataset_folder_asks_to_pack_it_first(mlapi: Mlapi, tmp_path: Path) -> None:
    result = mlapi("train", "--dataset", str(tmp_path), exit_code=2)

    assert "pack a folder first" in result.output


def test_train_dataset_of_an_unknown_name_is_refused(mlapi: Mlapi) -> None:
    result = mlapi("train", "--dataset", "never-fetched", exit_code=1)

    assert "no data set is named 'never-fetched'" in result.stderr
