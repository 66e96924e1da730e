"""``GET /v1/model``: the model this process serves."""

from fastapi.testclient import TestClient

from mlapi.ml.provenance import LIBRARIES, differences, library_versions
from tests.api.training import train_gradient_boosting

FIELDS = {
    "version",
    "active",
    "algorithm",
    "hyperparameters",
    "dataset_name",
    "dataset_checksum",
    "dataset_url",
    "dataset_sha256",
    "feature_names",
    "feature_types",
    "class_names",
    "accuracy",
    "metrics",
    "training_seconds",
    "created_by",
    "created_at",
    "checksum",
    "libraries",
}


def test_model_describes_the_bundled_model_as_version_1(shared_client: TestClient) -> None:
    response = shared_client.get("/v1/model")
    model = response.json()
    assert response.status_code == 200
    assert set(model) == FIELDS
    assert model["version"] == 1
    assert model["active"] is True
    assert model["algorithm"] == "decision_tree"
    assert model["dataset_name"] == "iris"
    assert len(model["dataset_checksum"]) == 64
    assert model["dataset_url"] is None
    assert model["dataset_sha256"] is None
    assert model["feature_types"] == ["number"] * 4
    assert model["feature_names"] == [
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    ]
    assert model["class_names"] == ["setosa", "versicolor", "virginica"]
    assert 0.9 <= model["accuracy"] <= 1.0
    assert model["accuracy"] == model["metrics"]["accuracy"]
    assert model["metrics"]["test_rows"] == 30
    assert len(model["metrics"]["confusion_matrix"]) == 3
    assert set(model["metrics"]["per_class"]) == {"setosa", "versicolor", "virginica"}
    assert len(model["checksum"]) == 64
    assert model["created_by"] == "mlapi (bundled model)"
    assert model["training_seconds"] >= 0
    # Made by the libraries requirements.txt pins, which the tests run with.
    assert set(model["libraries"]) == set(LIBRARIES)
    assert differences(model["libraries"], library_versions()) == []


def test_model_is_the_same_record_as_its_version(shared_client: TestClient) -> None:
    assert shared_client.get("/v1/model").json() == shared_client.get("/v1/models/1").json()


def test_model_follows_a_new_active_version(client: TestClient) -> None:
    version = train_gradient_boosting(client)
    model = client.get("/v1/model").json()
    assert model["version"] == version
    assert model["active"] is True
    assert model["algorithm"] == "gradient_boosting"
    assert model["hyperparameters"]["n_estimators"] == 10
    assert model["created_by"] == "api"
    assert model["libraries"] == library_versions()
