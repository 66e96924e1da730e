"""Training jobs: ``POST /v1/train`` and ``/v1/jobs``."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlapi.ml import CATALOGUE
from tests.api.training import SETOSA, follow_job, train

ORDER = ["queued", "running", "succeeded"]


def foreign_hyperparameter(algorithm: str) -> str:
    """A hyperparameter of another algorithm of the catalogue that this one lacks."""
    own = set(CATALOGUE[algorithm].hyperparameters.model_fields)
    others = {
        name
        for other, spec in CATALOGUE.items()
        if other != algorithm
        for name in spec.hyperparameters.model_fields
    }
    return sorted(others - own)[0]


def test_train_answers_202_with_the_queued_job_and_its_location(client: TestClient) -> None:
    response = client.post(
        "/v1/train",
        json={"algorithm": "gradient_boosting", "hyperparameters": {"n_estimators": 10}},
    )
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["state"] == "queued"
    assert job["progress"] == 0
    assert job["algorithm"] == "gradient_boosting"
    assert job["hyperparameters"]["n_estimators"] == 10
    assert job["hyperparameters"]["learning_rate"] == 0.1  # defaults filled in
    assert (job["test_size"], job["random_state"], job["activate"]) == (0.2, 0, True)
    assert job["created_by"] == "api"
    assert job["started_at"] is None
    assert job["finished_at"] is None
    assert job["model_version"] is None
    assert job["error"] is None
    follow_job(client, job["id"])


def test_job_runs_to_success_and_its_version_becomes_active(client: TestClient) -> None:
    response = client.post(
        "/v1/train",
        json={"algorithm": "gradient_boosting", "hyperparameters": {"n_estimators": 200}},
    )
    job, seen = follow_job(client, response.headers["location"].rsplit("/", 1)[-1])

    states = [ORDER.index(step["state"]) for step in seen]
    assert states == sorted(states), [step["state"] for step in seen]
    progress = [step["progress"] for step in seen]
    assert progress == sorted(progress)
    assert all(0 <= share <= 1 for share in progress)
    assert job["state"] == "succeeded"
    assert job["progress"] == 1
    assert job["model_version"] == 2
    assert job["error"] is None
    assert job["started_at"] is not None
    assert job["started_at"] <= job["finished_at"]
    assert client.get("/v1/model").json()["version"] == 2
    assert client.get("/v1/health/ready").json()["model_version"] == 2


def test_train_with_defaults_trains_the_default_algorithm(client: TestClient) -> None:
    job = train(client)
    assert job["algorithm"] == "decision_tree"
    assert client.get("/v1/model").json()["algorithm"] == "decision_tree"


def test_activate_false_registers_without_activating(client: TestClient) -> None:
    job = train(
        client,
        algorithm="gradient_boosting",
        hyperparameters={"n_estimators": 10},
        activate=False,
    )
    assert job["model_version"] == 2
    assert client.get("/v1/model").json()["version"] == 1
    assert client.get("/v1/models/2").json()["active"] is False
    assert (
        client.post("/v1/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]}).json()["model_version"]
        == 1
    )


def test_train_uses_the_split_it_is_given(client: TestClient) -> None:
    job = train(client, test_size=0.5, random_state=3)
    assert (job["test_size"], job["random_state"]) == (0.5, 3)
    model = client.get(f"/v1/models/{job['model_version']}").json()
    assert model["metrics"]["test_rows"] == 75


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"hyperparameters": {"n_estimators": 0}}, "#/hyperparameters/n_estimators"),
        ({"hyperparameters": {"n_estimators": 5001}}, "#/hyperparameters/n_estimators"),
        ({"hyperparameters": {"n_estimators": "many"}}, "#/hyperparameters/n_estimators"),
        ({"hyperparameters": {"learning_rate": 0}}, "#/hyperparameters/learning_rate"),
        ({"hyperparameters": {"n_estimatorz": 10}}, "#/hyperparameters/n_estimatorz"),
        ({"hyperparameters": {"max_depth": 2.5}}, "#/hyperparameters/max_depth"),
        ({"algorithm": "magic"}, "#/algorithm"),
        ({"test_size": 0}, "#/test_size"),
        ({"test_size": 1}, "#/test_size"),
        ({"test_size": -0.2}, "#/test_size"),
        ({"random_state": -1}, "#/random_state"),
        ({"random_state": 2**31}, "#/random_state"),
        ({"activate": "maybe"}, "#/activate"),
        ({"epochs": 3}, "#/epochs"),
    ],
)
def test_train_refuses_an_invalid_request_naming_the_field(
    shared_client: TestClient, body: dict[str, Any], pointer: str
) -> None:
    request = {"algorithm": "gradient_boosting", **body}
    response = shared_client.post("/v1/train", json=request)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:mlapi:problem:invalid-request"
    assert [error["pointer"] for error in problem["errors"]] == [pointer]
    assert shared_client.get("/v1/jobs").json()["total"] == 0


def test_decision_tree_hyperparameters_are_checked_against_their_own_catalogue(
    shared_client: TestClient,
) -> None:
    response = shared_client.post(
        "/v1/train", json={"algorithm": "decision_tree", "hyperparameters": {"n_estimators": 5}}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/hyperparameters/n_estimators"


@pytest.mark.parametrize("algorithm", [*CATALOGUE, None])
def test_train_refuses_a_hyperparameter_of_another_algorithm_naming_it(
    shared_client: TestClient, algorithm: str | None
) -> None:
    parameter = foreign_hyperparameter(algorithm or "decision_tree")  # None: the default
    response = shared_client.post(
        "/v1/train", json={"algorithm": algorithm, "hyperparameters": {parameter: 5}}
    )
    assert response.status_code == 422, response.text
    assert [error["pointer"] for error in response.json()["errors"]] == [
        f"#/hyperparameters/{parameter}"
    ]
    assert shared_client.get("/v1/jobs").json()["total"] == 0


def test_train_refuses_an_unknown_algorithm_listing_the_valid_ones(
    shared_client: TestClient,
) -> None:
    response = shared_client.post("/v1/train", json={"algorithm": "random_forest"})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["pointer"] == "#/algorithm"
    assert error["type"] == "enum"
    for name in ("decision_tree", "gradient_boosting", "hist_gradient_boosting"):
        assert f"'{name}'" in error["detail"]
    assert shared_client.get("/v1/jobs").json()["total"] == 0


def test_hist_gradient_boosting_trains_through_the_api_and_serves(client: TestClient) -> None:
    # A catalogue module whose files hold types beyond the default allow-list: the
    # types are read from the file it trains, no trusted-types line is needed anywhere.
    job = train(client, algorithm="hist_gradient_boosting", hyperparameters={"max_iter": 20})
    version = job["model_version"]
    assert job["hyperparameters"]["max_iter"] == 20
    model = client.get("/v1/model").json()
    assert (model["version"], model["active"]) == (version, True)
    assert model["algorithm"] == "hist_gradient_boosting"
    answer = client.post("/v1/predict", json={"data": [SETOSA]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == version
    assert answer.json()["labels"] == ["setosa"]


def test_train_with_a_null_algorithm_trains_the_configured_default(
    settings_with_defaults: TestClient,
) -> None:
    response = settings_with_defaults.post("/v1/train", json={"algorithm": None})
    assert response.status_code == 202, response.text
    assert response.json()["algorithm"] == "gradient_boosting"  # configured, not the catalogue's
    job, _ = follow_job(settings_with_defaults, response.json()["id"])
    assert job["state"] == "succeeded", job
    assert settings_with_defaults.get("/v1/model").json()["algorithm"] == "gradient_boosting"


def test_hyperparameters_left_out_keep_the_configured_defaults(
    settings_with_defaults: TestClient,
) -> None:
    job = train(
        settings_with_defaults,
        algorithm="gradient_boosting",
        hyperparameters={"learning_rate": 0.5},
    )
    assert job["hyperparameters"]["n_estimators"] == 7  # configured; the catalogue says 100
    assert job["hyperparameters"]["learning_rate"] == 0.5
    model = settings_with_defaults.get(f"/v1/models/{job['model_version']}").json()
    assert (model["hyperparameters"]["n_estimators"], model["active"]) == (7, True)


def test_train_refuses_a_body_that_is_not_an_object(shared_client: TestClient) -> None:
    assert shared_client.post("/v1/train", json=["decision_tree"]).status_code == 422


def test_jobs_are_listed_newest_first_and_paginated(client: TestClient) -> None:
    ids = [client.post("/v1/train", json={"activate": False}).json()["id"] for _ in range(3)]
    page = client.get("/v1/jobs", params={"limit": 2}).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [job["id"] for job in page["items"]] == [ids[2], ids[1]]
    rest = client.get("/v1/jobs", params={"limit": 2, "offset": 2}).json()
    assert [job["id"] for job in rest["items"]] == [ids[0]]
    assert client.get("/v1/jobs", params={"offset": 3}).json()["items"] == []
    finished = [follow_job(client, job_id)[0] for job_id in ids]
    assert [job["state"] for job in finished] == ["succeeded"] * 3
    assert sorted(job["model_version"] for job in finished) == [2, 3, 4]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("limit", "0"), ("limit", "501"), ("offset", "-1"), ("offset", "9" * 30)],
)
def test_jobs_list_refuses_a_bad_page(
    shared_client: TestClient, parameter: str, value: str
) -> None:
    response = shared_client.get("/v1/jobs", params={parameter: value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == parameter


def test_unknown_job_is_404_problem(shared_client: TestClient) -> None:
    response = shared_client.get("/v1/jobs/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:mlapi:problem:not-found"


def test_job_id_longer_than_a_uuid_is_refused(shared_client: TestClient) -> None:
    assert shared_client.get("/v1/jobs/" + "x" * 37).status_code == 422


def test_cancel_ends_a_running_job_and_refuses_a_finished_one(client: TestClient) -> None:
    queued = client.post(
        "/v1/train",
        json={"algorithm": "gradient_boosting", "hyperparameters": {"n_estimators": 5000}},
    ).json()

    cancelled = client.post(f"/v1/jobs/{queued['id']}/cancel")
    again = client.post(f"/v1/jobs/{queued['id']}/cancel")
    unknown = client.post("/v1/jobs/00000000-0000-0000-0000-000000000000/cancel")
    job, _ = follow_job(client, queued["id"])

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"
    assert cancelled.json()["error"] == "cancelled by api"
    assert cancelled.json()["finished_at"] is not None
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"] == "urn:mlapi:problem:job-finished"
    assert again.json()["detail"] == f"training job {queued['id']} already cancelled"
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "urn:mlapi:problem:not-found"
    assert (job["state"], job["model_version"]) == ("cancelled", None)
    assert client.get("/v1/models").json()["total"] == 1  # the bundled model alone
