"""``GET /v1/model``."""

from fastapi.testclient import TestClient


def test_model_describes_the_bundled_model(client: TestClient) -> None:
    model = client.get("/v1/model").json()
    assert model["algorithm"] == "decision_tree"
    assert model["feature_names"] == [
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    ]
    assert model["class_names"] == ["setosa", "versicolor", "virginica"]
    assert 0.9 <= model["accuracy"] <= 1.0
    assert model["accuracy"] == model["evaluation"]["accuracy"]
    assert model["evaluation"]["test_rows"] == 30
    assert len(model["evaluation"]["confusion_matrix"]) == 3
    assert model["checksum"].startswith(model["version"])
    assert model["training_rows"] == 120
    assert "trained_at" in model
