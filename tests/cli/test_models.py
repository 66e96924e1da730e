"""``mlapi models``: list, show, activate and delete model versions."""

import re

import pytest

from tests.cli.conftest import SETOSA, Mlapi, active_version, as_json, listed_versions
from tests.e2e.conftest import LiveServer


def test_models_list_shows_versions_newest_first_with_the_active_marked(mlapi: Mlapi) -> None:
    mlapi("train", "--algorithm", "gradient_boosting", "--param", "n_estimators=3", "--wait")
    mlapi("train", "--wait", "--no-activate")
    result = mlapi("models", "list")
    assert listed_versions(result.stdout) == {3: False, 2: True, 1: False}
    assert list(listed_versions(result.stdout)) == [3, 2, 1]
    assert "3 of 3 versions" in result.stdout
    assert "iris" in result.stdout
    page = mlapi("models", "list", "--limit", "1", "--offset", "1").stdout
    assert listed_versions(page) == {2: True}
    assert "1 of 3 versions" in page


def test_models_list_format_json_prints_the_page_of_versions(mlapi: Mlapi) -> None:
    mlapi("train", "--wait", "--no-activate")
    page = as_json(mlapi("--format", "json", "models", "list"))
    assert set(page) == {"items", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    assert [(item["version"], item["active"]) for item in page["items"]] == [(2, False), (1, True)]
    newest, bundled = page["items"]
    assert newest["algorithm"] == "decision_tree"
    assert newest["created_by"] == "cli"
    assert bundled["class_names"] == ["setosa", "versicolor", "virginica"]
    assert bundled["accuracy"] == bundled["metrics"]["accuracy"]
    assert bundled == as_json(mlapi("models", "show", "1"))
    second = as_json(mlapi("--format", "json", "models", "list", "--limit", "1", "--offset", "1"))
    assert (second["total"], second["limit"], second["offset"]) == (2, 1, 1)
    assert second["items"] == [bundled]


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


def test_models_activate_format_json_prints_the_activated_version(mlapi: Mlapi) -> None:
    mlapi("train", "--wait", "--no-activate")
    model = as_json(mlapi("--format", "json", "models", "activate", "2"))
    assert model["version"] == 2
    assert model["active"] is True
    assert model["algorithm"] == "decision_tree"
    assert model == as_json(mlapi("models", "show", "2"))
    assert listed_versions(mlapi("models", "list").stdout) == {2: True, 1: False}


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


# --- against a server ----------------------------------------------------------------------


def test_models_list_url_format_json_is_the_servers_get_models_document(
    mlapi: Mlapi, live_server: LiveServer
) -> None:
    url = live_server.url
    listed = as_json(mlapi("--url", url, "--format", "json", "models", "list"))
    first = as_json(mlapi("--url", url, "--format", "json", "models", "list", "--limit", "1"))
    with live_server.client() as client:
        assert listed == client.get("/v1/models").json()
        assert first == client.get("/v1/models", params={"limit": 1}).json()
    assert listed["total"] >= 1
    assert [item["version"] for item in listed["items"] if item["active"]] == [
        active_version(live_server)
    ]


def test_models_activate_url_then_predict_url_answers_with_it(
    mlapi: Mlapi, live_server: LiveServer
) -> None:
    trained = mlapi(
        "--url", live_server.url, "train", "--algorithm", "gradient_boosting", "--wait"
    ).stdout
    match = re.search(r"model version (\d+)", trained)
    assert match is not None, trained
    boosted = int(match.group(1))

    assert "model version 1 is now active" in (
        mlapi("--url", live_server.url, "models", "activate", "1").stdout
    )
    answer = as_json(mlapi("--url", live_server.url, "predict", SETOSA))
    assert answer["model_version"] == 1
    assert answer["probability"] == [[1.0, 0.0, 0.0]]
    with live_server.client() as client:
        article = client.post("/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]}).json()
    assert article["probability"] == [[1.0, 0.0, 0.0]]

    mlapi("--url", live_server.url, "models", "activate", str(boosted))
    answer = as_json(mlapi("--url", live_server.url, "predict", SETOSA))
    assert answer["model_version"] == boosted
    assert answer["probability"] != [[1.0, 0.0, 0.0]]
    asked = as_json(mlapi("--url", live_server.url, "predict", SETOSA, "--model-version", "1"))
    assert asked["model_version"] == 1


def test_models_card_prints_the_version_s_card_in_markdown(mlapi: Mlapi) -> None:
    card = mlapi("models", "card", "1").stdout

    assert card.startswith("# Model card of version 1\n")
    assert "by mlapi (bundled model) on" in card
    assert mlapi("models", "card", "9", exit_code=1).stderr.startswith(
        "error: model version 9 does not exist"
    )


def test_models_card_with_url_prints_what_the_server_answers(
    mlapi: Mlapi, live_server: LiveServer
) -> None:
    card = mlapi("--url", live_server.url, "models", "card", "1").stdout

    with live_server.client() as client:
        assert card == client.get("/v1/models/1/card").text
    assert card.startswith("# Model card of version 1\n")
