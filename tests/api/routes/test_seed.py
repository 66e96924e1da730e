"""The article's routes: same requests, same answers."""

from fastapi.testclient import TestClient

from mlapi.main import app


def test_module_level_app_is_the_articles() -> None:
    assert app.title == "MLAPI Template"
    assert app.version == "1.0"


def test_predict_answers_the_articles_json(client: TestClient) -> None:
    response = client.post("/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]})
    assert response.status_code == 200
    assert response.content == b'{"prediction":[0],"probability":[[1.0,0.0,0.0]]}'


def test_predict_accepts_integers_as_numbers(client: TestClient) -> None:
    response = client.post("/predict", json={"data": [[5, 3, 1, 0]]})
    assert response.json()["prediction"] == [0]


def test_predict_accepts_json_with_charset(client: TestClient) -> None:
    response = client.post(
        "/predict",
        content=b'{"data": [[6.7, 3.0, 5.2, 2.3]]}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.json()["prediction"] == [2]


def test_large_batches_are_predicted_off_the_event_loop_with_same_answers(
    client: TestClient,
) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] * 1000
    body = client.post("/predict", json={"data": rows}).json()
    assert body["prediction"] == [0, 2] * 1000


def test_train_without_flag_trains_a_decision_tree(client: TestClient) -> None:
    response = client.post("/train")
    assert response.content == b"true"
    assert client.get("/v1/model").json()["algorithm"] == "decision_tree"


def test_train_with_gradient_boosting_swaps_the_served_model(client: TestClient) -> None:
    before = client.get("/v1/model").json()["version"]
    assert client.post("/train", params={"gradient_boosting": "true"}).json() is True
    model = client.get("/v1/model").json()
    assert model["algorithm"] == "gradient_boosting"
    assert model["version"] != before


def test_train_applies_configured_hyperparameters(settings_with_defaults: TestClient) -> None:
    settings_with_defaults.post("/train", params={"gradient_boosting": "true"})
    model = settings_with_defaults.get("/v1/model").json()
    assert model["hyperparameters"]["n_estimators"] == 7
