"""The dashboard's page and files (``/ui``), its setting, and ``GET /v1/algorithms``.

The page itself is tested in a real browser (``tests/e2e/test_dashboard.py``); here, what
the server sends: that every file the page and its modules name is there, and the policy
that lets them, and nothing else, load.
"""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlapi.api.headers import DASHBOARD_POLICY
from mlapi.main import create_app
from mlapi.settings import Settings


def _app(tmp_path: Path, **settings: object) -> TestClient:
    """A client of an app that is not started: the page and the catalogue need no model."""
    return TestClient(
        create_app(Settings(model_dir=str(tmp_path / "models"), cache_dir=tmp_path, **settings))
    )


def _named_files(client: TestClient) -> set[str]:
    """Every file the page names, and every module its scripts import, as absolute paths."""
    page = client.get("/ui").text
    named = {f"/{path}" for path in re.findall(r'(?:src|href)="((?:ui|docs)/[^"]+)"', page)}
    pending = [path for path in named if path.endswith(".js")]
    while pending:
        script = client.get(pending.pop()).text
        for module in re.findall(r'from "\./([^"]+)"', script):
            path = f"/ui/assets/{module}"
            if path not in named:
                named.add(path)
                pending.append(path)
    return named


def test_the_page_and_every_file_it_names_are_served_with_the_dashboard_policy(
    tmp_path: Path,
) -> None:
    client = _app(tmp_path)
    page = client.get("/ui")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == DASHBOARD_POLICY.decode()
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text  # no inline script: the policy allows none
    assert " style=" not in page.text

    files = _named_files(client)
    assert {
        "/ui/assets/dashboard.js",
        "/ui/assets/api.js",
        "/ui/assets/render.js",
        "/ui/assets/form.js",
        "/ui/assets/dashboard.css",
    } <= files
    for path in files:
        answer = client.get(path)
        assert answer.status_code == 200, path
        kind = {"js": "text/javascript", "css": "text/css", "png": "image/png"}
        assert answer.headers["content-type"].startswith(kind[path.rsplit(".", 1)[1]]), path


def test_a_trailing_slash_leads_to_the_page(tmp_path: Path) -> None:
    answer = _app(tmp_path).get("/ui/", follow_redirects=False)
    assert answer.status_code in {307, 308}
    assert answer.headers["location"].endswith("/ui")


@pytest.mark.parametrize("path", ["/ui", "/ui/assets/dashboard.js"])
def test_the_setting_turns_the_dashboard_off(tmp_path: Path, path: str) -> None:
    answer = _app(tmp_path, ui=False).get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_algorithms_list_the_catalogue_with_schemas_and_configured_defaults(
    tmp_path: Path,
) -> None:
    client = _app(
        tmp_path,
        default_algorithm="gradient_boosting",
        hyperparameters={"gradient_boosting": {"n_estimators": 7}},
        dev_mode=True,
    )
    answer = client.get("/v1/algorithms")
    assert answer.status_code == 200
    entries = {entry["name"]: entry for entry in answer.json()}
    assert list(entries) == ["decision_tree", "gradient_boosting", "hist_gradient_boosting"]
    assert [name for name, entry in entries.items() if entry["default"]] == ["gradient_boosting"]
    boosting = entries["gradient_boosting"]
    assert boosting["title"] == "Gradient boosting"
    estimators = boosting["hyperparameters"]["properties"]["n_estimators"]
    assert (estimators["type"], estimators["minimum"], estimators["default"]) == ("integer", 1, 100)
    assert boosting["defaults"]["n_estimators"] == 7  # configured, over the catalogue's 100
    assert boosting["defaults"]["learning_rate"] == 0.1
    tree = entries["decision_tree"]
    assert tree["defaults"] == {
        "criterion": "gini",
        "max_depth": None,
        "min_samples_split": 2,
        "min_samples_leaf": 1,
        "random_state": 0,
    }
    assert tree["hyperparameters"]["properties"]["criterion"]["enum"] == [
        "gini",
        "entropy",
        "log_loss",
    ]
    assert client.get("/v1/algorithms", params={"x": 1}).status_code == 422
