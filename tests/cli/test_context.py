"""The root command: ``--config``, ``--url``, ``--cacert``, ``--format``; settings; errors."""

from pathlib import Path

import pytest

from mlapi.cli import cli
from mlapi.ml import IrisClassifier
from tests.cli.conftest import SETOSA, Mlapi, as_json, listed_versions, runner
from tests.e2e.conftest import LiveServer


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


@pytest.mark.parametrize(
    "command",
    [
        ["models", "list"],
        ["models", "show", "1"],
        ["jobs", "list"],
        ["train"],
        ["train", "--output", "model.skops"],
        ["predict", SETOSA],
        ["serve"],  # refused before it would start listening
    ],
    ids=" ".join,
)
def test_unknown_mlapi_variable_is_refused_with_a_suggestion(
    mlapi: Mlapi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: pytest.fail("serve started"))
    monkeypatch.setenv("MLAPI_MODEL_DIRS", str(tmp_path / "elsewhere"))
    result = mlapi(*command, exit_code=2)
    assert "error: invalid configuration" in result.stderr
    assert "MLAPI_MODEL_DIRS (did you mean MLAPI_MODEL_DIR?)" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "models").exists()
    assert not (tmp_path / "model.skops").exists()


def test_format_refuses_an_unknown_format(mlapi: Mlapi) -> None:
    result = mlapi("--format", "yaml", "models", "list", exit_code=2)
    assert "yaml" in result.output


def test_url_is_a_root_option_not_a_command_option(mlapi: Mlapi) -> None:
    result = mlapi("models", "list", "--url", "http://127.0.0.1:9", exit_code=2)
    assert "--url" in result.output


def test_cacert_that_does_not_exist_is_refused(mlapi: Mlapi, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    result = mlapi(
        "--url", "https://127.0.0.1:9", "--cacert", str(missing), "models", "list", exit_code=2
    )
    assert "--cacert" in result.output


def test_url_errors_are_reported_from_the_problem(mlapi: Mlapi, live_server: LiveServer) -> None:
    active = mlapi("--url", live_server.url, "models", "show", "1")
    if as_json(active)["active"]:
        mlapi("--url", live_server.url, "train", "--wait")
    result = mlapi("--url", live_server.url, "models", "delete", "99", exit_code=1)
    assert "error: model version 99 does not exist [HTTP 404 Not Found]" in result.stderr
    active_version = mlapi("--url", live_server.url, "models", "list").stdout
    [version] = [number for number, active in listed_versions(active_version).items() if active]
    result = mlapi("--url", live_server.url, "models", "delete", str(version), exit_code=1)
    assert f"model version {version} is active: activate another first" in result.stderr
    assert "[HTTP 409 Conflict]" in result.stderr
    result = mlapi("--url", live_server.url, "train", "--param", "max_depth=0", exit_code=1)
    assert "#/hyperparameters/max_depth" in result.stderr
    assert "[HTTP 422 Unprocessable" in result.stderr


def test_url_that_does_not_answer_is_reported(mlapi: Mlapi) -> None:
    result = mlapi("--url", "http://127.0.0.1:9", "models", "list", exit_code=1)
    assert "cannot reach the server" in result.stderr
