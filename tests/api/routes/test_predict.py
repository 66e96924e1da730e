"""``POST /v1/predict``."""

from fastapi.testclient import TestClient


def test_v1_predict_adds_labels_and_model_version(client: TestClient) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    body = client.post("/v1/predict", json={"data": rows}).json()
    assert body["prediction"] == [0, 2]
    assert body["labels"] == ["setosa", "virginica"]
    assert body["model_version"] == client.get("/v1/model").json()["version"]
    assert len(body["model_version"]) == 12


def test_v1_predict_names_the_new_model_after_training(client: TestClient) -> None:
    before = client.post("/v1/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]}).json()
    client.post("/train", params={"gradient_boosting": "true"})
    after = client.post("/v1/predict", json={"data": [[5.1, 3.5, 1.4, 0.2]]}).json()
    assert after["model_version"] != before["model_version"]
