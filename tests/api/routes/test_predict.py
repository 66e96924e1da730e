"""``POST /v1/predict``."""

from fastapi.testclient import TestClient

from tests.api.training import SETOSA, train_gradient_boosting


def test_v1_predict_adds_labels_and_model_version(shared_client: TestClient) -> None:
    rows = [SETOSA, [6.7, 3.0, 5.2, 2.3]]
    body = shared_client.post("/v1/predict", json={"data": rows}).json()
    assert body["prediction"] == [0, 2]
    assert body["labels"] == ["setosa", "virginica"]
    assert body["model_version"] == 1


def test_v1_predict_names_the_new_model_after_training(client: TestClient) -> None:
    assert client.post("/train", params={"gradient_boosting": "true"}).json() is True
    after = client.post("/v1/predict", json={"data": [SETOSA]}).json()
    assert after["model_version"] == 2


def test_v1_predict_asks_a_version_that_is_not_active(client: TestClient) -> None:
    version = train_gradient_boosting(client)
    active = client.post("/v1/predict", json={"data": [SETOSA]}).json()
    old = client.post("/v1/predict", json={"data": [SETOSA], "model_version": 1}).json()
    assert active["model_version"] == version
    assert old["model_version"] == 1
    assert old["probability"] == [[1.0, 0.0, 0.0]]
    assert active["probability"] != old["probability"]
    assert client.get("/v1/model").json()["version"] == version  # asking is not activating


def test_v1_predict_asks_the_active_version_by_number(shared_client: TestClient) -> None:
    body = shared_client.post("/v1/predict", json={"data": [SETOSA], "model_version": 1}).json()
    assert body["model_version"] == 1


def test_v1_predict_unknown_version_is_404_problem(shared_client: TestClient) -> None:
    response = shared_client.post("/v1/predict", json={"data": [SETOSA], "model_version": 99})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:mlapi:problem:not-found"
    assert "99" in problem["detail"]


def test_v1_predict_refuses_a_version_that_is_not_a_positive_integer(
    shared_client: TestClient,
) -> None:
    for version in (0, "one", 1.5, 2**31, 10**30):
        response = shared_client.post(
            "/v1/predict", json={"data": [SETOSA], "model_version": version}
        )
        assert response.status_code == 422, version
        assert response.json()["errors"][0]["pointer"] == "#/model_version"


def test_v1_predict_reports_a_value_of_no_accepted_type_once_at_its_cell(
    shared_client: TestClient,
) -> None:
    response = shared_client.post(
        "/v1/predict", json={"data": [[5.1, 3.5, 1.4, 0.2], [True, 1, 1, 1]]}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "detail": "must be a finite number, a string of at most 1000 characters, or null",
            "type": "value_type",
            "pointer": "#/data/1/0",
        }
    ]


def test_v1_predict_takes_rows_keyed_by_feature_name(shared_client: TestClient) -> None:
    row = {
        "petal width (cm)": 2.3,
        "sepal length (cm)": 6.7,
        "sepal width (cm)": 3.0,
        "petal length (cm)": 5.2,
    }

    response = shared_client.post("/v1/predict", json={"data": [row, [5.1, 3.5, 1.4, 0.2]]})

    assert response.status_code == 200
    assert response.json()["labels"] == ["virginica", "setosa"]


def test_v1_predict_refuses_text_for_a_numeric_feature_naming_the_cell(
    shared_client: TestClient,
) -> None:
    response = shared_client.post("/v1/predict", json={"data": [["5.1", 3.5, 1.4, 0.2]]})

    assert response.status_code == 422
    assert [error["pointer"] for error in response.json()["errors"]] == ["#/data/0/0"]


def test_v1_train_points_at_the_part_of_the_data_set_at_fault(
    shared_client: TestClient,
) -> None:
    bodies = [
        ({"dataset": {"sha256": "ab"}}, "#/dataset/sha256"),
        ({"dataset": {"url": "http://[::1"}}, "#/dataset/url"),
        ({"dataset": {"url": "ftp://example.org/x.zip"}}, "#/dataset/url"),
        ({"dataset": "Not A Name"}, "#/dataset"),
        ({"dataset": "never-fetched"}, "#/dataset/name"),
    ]

    for body, pointer in bodies:
        response = shared_client.post("/v1/train", json=body)
        assert response.status_code == 422, body
        assert pointer in [error["pointer"] for error in response.json()["errors"]], body
