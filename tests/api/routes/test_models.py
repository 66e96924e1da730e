"""Model versions: ``/v1/models`` list, show, activate and delete."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.training import SETOSA, train_gradient_boosting


def versions(client: TestClient, **params: int) -> list[int]:
    """List the version numbers of a page of ``/v1/models``."""
    response = client.get("/v1/models", params=params)
    assert response.status_code == 200, response.text
    return [item["version"] for item in response.json()["items"]]


def test_list_starts_with_the_bundled_model_active(shared_client: TestClient) -> None:
    page = shared_client.get("/v1/models").json()
    assert page["total"] == 1
    assert page["limit"] == 50
    assert page["offset"] == 0
    [bundled] = page["items"]
    assert bundled["version"] == 1
    assert bundled["active"] is True
    assert bundled["algorithm"] == "decision_tree"


def test_list_is_paginated_newest_first_with_the_active_one_marked(client: TestClient) -> None:
    second = train_gradient_boosting(client)
    third = train_gradient_boosting(client, hyperparameters={"n_estimators": 11}, activate=False)
    assert (second, third) == (2, 3)

    page = client.get("/v1/models", params={"limit": 2}).json()
    assert [item["version"] for item in page["items"]] == [3, 2]
    assert [item["active"] for item in page["items"]] == [False, True]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert versions(client, limit=2, offset=2) == [1]
    assert versions(client, offset=3) == []
    assert versions(client, limit=500) == [3, 2, 1]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("limit", "0"), ("limit", "501"), ("offset", "-1"), ("limit", "x"), ("offset", "9" * 30)],
)
def test_list_refuses_a_bad_page(shared_client: TestClient, parameter: str, value: str) -> None:
    response = shared_client.get("/v1/models", params={parameter: value})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["parameter"] == parameter


def test_list_refuses_an_unknown_query_parameter(shared_client: TestClient) -> None:
    response = shared_client.get("/v1/models", params={"page": "2"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "page"


def test_show_describes_one_version(client: TestClient) -> None:
    version = train_gradient_boosting(client, activate=False)
    model = client.get(f"/v1/models/{version}").json()
    assert model["version"] == version
    assert model["active"] is False
    assert model["algorithm"] == "gradient_boosting"
    assert model["hyperparameters"]["n_estimators"] == 10
    assert model["checksum"] != client.get("/v1/models/1").json()["checksum"]


def test_show_unknown_version_is_404_problem(shared_client: TestClient) -> None:
    response = shared_client.get("/v1/models/99")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:mlapi:problem:not-found"
    assert response.json()["detail"] == "model version 99 does not exist"


@pytest.mark.parametrize("version", ["latest", "1.5", "0", "-1", "2147483648", "9" * 30])
def test_show_refuses_a_version_that_is_not_a_positive_integer(
    shared_client: TestClient, version: str
) -> None:
    response = shared_client.get(f"/v1/models/{version}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "version"


def test_activate_an_older_version_rolls_back_what_both_predict_routes_answer(
    client: TestClient,
) -> None:
    bundled = client.post("/v1/predict", json={"data": [SETOSA]}).json()
    version = train_gradient_boosting(client)
    boosted = client.post("/v1/predict", json={"data": [SETOSA]}).json()
    assert boosted["model_version"] == version
    assert boosted["probability"] != bundled["probability"]

    response = client.post("/v1/models/1/activate")
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert response.json()["active"] is True
    assert client.post("/v1/predict", json={"data": [SETOSA]}).json() == bundled
    assert client.post("/predict", json={"data": [SETOSA]}).json() == {
        "prediction": bundled["prediction"],
        "probability": bundled["probability"],
    }
    assert client.get("/v1/model").json()["version"] == 1
    assert [item["active"] for item in client.get("/v1/models").json()["items"]] == [False, True]

    client.post(f"/v1/models/{version}/activate")
    assert client.post("/v1/predict", json={"data": [SETOSA]}).json() == boosted


def test_activate_the_active_version_again_is_harmless(shared_client: TestClient) -> None:
    response = shared_client.post("/v1/models/1/activate")
    assert response.status_code == 200
    assert response.json()["active"] is True


def test_activate_unknown_version_is_404_and_changes_nothing(shared_client: TestClient) -> None:
    before = shared_client.post("/v1/predict", json={"data": [SETOSA]}).json()
    response = shared_client.post("/v1/models/42/activate")
    assert response.status_code == 404
    assert response.json()["type"] == "urn:mlapi:problem:not-found"
    assert shared_client.get("/v1/model").json()["version"] == 1
    assert shared_client.get("/v1/models/1").json()["active"] is True
    assert shared_client.post("/v1/predict", json={"data": [SETOSA]}).json() == before


def test_delete_the_active_version_is_409_problem(shared_client: TestClient) -> None:
    response = shared_client.delete("/v1/models/1")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:mlapi:problem:conflict"
    assert problem["detail"] == "model version 1 is active: activate another first"
    assert shared_client.get("/v1/models/1").status_code == 200


def test_delete_another_version_is_204_then_404(client: TestClient) -> None:
    version = train_gradient_boosting(client, activate=False)
    response = client.delete(f"/v1/models/{version}")
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/v1/models/{version}").status_code == 404
    assert client.delete(f"/v1/models/{version}").status_code == 404
    assert versions(client) == [1]
    predict = client.post("/v1/predict", json={"data": [SETOSA], "model_version": version})
    assert predict.status_code == 404


def test_delete_a_rolled_back_version(client: TestClient) -> None:
    version = train_gradient_boosting(client)
    client.post("/v1/models/1/activate")
    assert client.delete(f"/v1/models/{version}").status_code == 204
    assert client.post("/predict", json={"data": [SETOSA]}).json()["probability"] == [
        [1.0, 0.0, 0.0]
    ]


def test_delete_unknown_version_is_404(shared_client: TestClient) -> None:
    assert shared_client.delete("/v1/models/7").status_code == 404


def test_card_is_markdown_by_default(shared_client: TestClient) -> None:
    for accept in (None, "*/*", "text/markdown", "application/json"):
        headers = {"Accept": accept} if accept else {}
        response = shared_client.get("/v1/models/1/card", headers=headers)

        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/markdown; charset=utf-8"
        assert response.headers["vary"] == "Accept"
        assert response.text.startswith("# Model card of version 1\n")
        assert "## Intended uses and limitations" in response.text
        assert "| true class |" in response.text


@pytest.mark.parametrize(
    "accept",
    [
        "text/html",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # a browser's
        "text/markdown;q=0.5, text/*",
    ],
)
def test_card_is_an_html_fragment_when_the_client_prefers_html(
    shared_client: TestClient, accept: str
) -> None:
    response = shared_client.get("/v1/models/1/card", headers={"Accept": accept})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["vary"] == "Accept"
    assert response.text.startswith("<h1>Model card of version 1</h1>\n")
    assert "<table>" in response.text
    assert "<html" not in response.text
    assert "<script" not in response.text
    assert "style=" not in response.text


def test_card_of_unknown_version_is_404_problem(shared_client: TestClient) -> None:
    for accept in ("text/markdown", "text/html"):
        response = shared_client.get("/v1/models/99/card", headers={"Accept": accept})

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "model version 99 does not exist"


@pytest.mark.parametrize("version", ["latest", "0", "2147483648"])
def test_card_refuses_a_version_that_is_not_a_positive_integer(
    shared_client: TestClient, version: str
) -> None:
    response = shared_client.get(f"/v1/models/{version}/card")

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["parameter"] == "version"


def test_card_of_a_trained_version_names_its_algorithm_and_hyperparameters(
    client: TestClient,
) -> None:
    version = train_gradient_boosting(client, activate=False)

    card = client.get(f"/v1/models/{version}/card").text

    assert card.startswith(f"# Model card of version {version}\n")
    assert "Gradient boosting (`gradient_boosting`)" in card
    assert re.search(r"\|\s+n\\_estimators\s+\|\s+10\s+\|", card)
