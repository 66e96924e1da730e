"""Error mapping: problem bodies, and no stack traces for unexpected failures."""

from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from mlapi.api.errors import field_errors
from mlapi.main import create_app
from mlapi.ml.errors import FieldError, Input
from mlapi.ml.rows import validate_rows
from mlapi.serving.errors import ModelStoreError
from mlapi.settings import ErrorDetail, Settings
from tests.api.conftest import started


def test_unexpected_failure_is_a_500_problem_without_details(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    # Not started: the route needs no model, and a start cut short leaves its migration
    # running in a thread while the next test's app migrates.
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text
    assert response.json()["type"] == "urn:mlapi:problem:internal-error"


@pytest.mark.parametrize("detail", list(ErrorDetail))
def test_an_unreachable_model_store_is_a_503_to_retry_naming_it_only_in_full_detail(
    settings: Settings, detail: ErrorDetail
) -> None:
    app = create_app(settings.model_copy(update={"error_detail": detail}))

    @app.get("/store")
    async def store() -> None:
        raise ModelStoreError("the model store s3://models/mlapi failed: minio.internal")

    response = TestClient(app, raise_server_exceptions=False).get("/store")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"] == "urn:mlapi:problem:model-store"
    assert ("minio.internal" in response.text) is (detail is ErrorDetail.FULL)


def test_validation_problem_lists_every_bad_field(shared_client: TestClient) -> None:
    response = shared_client.post("/predict", json={"data": [[1, "x", 3, 4], [None, 2, 3, 4]]})
    pointers = [error["pointer"] for error in response.json()["errors"]]
    assert response.status_code == 422
    assert pointers == ["#/data/0/1", "#/data/1/0"]


def test_wrong_width_problem_lists_every_bad_row(shared_client: TestClient) -> None:
    response = shared_client.post(
        "/predict", json={"data": [[1, 2], [1, 2, 3, 4], [1, 2, 3, 4, 5]]}
    )
    pointers = [error["pointer"] for error in response.json()["errors"]]
    assert pointers == ["#/data/0", "#/data/2"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/v1/models/1", {"GET", "DELETE"}), ("/v1/models/1/activate", {"POST"})],
)
def test_wrong_method_names_every_method_the_path_takes_in_allow(
    shared_client: TestClient, path: str, allowed: set[str]
) -> None:
    # Found by schemathesis: Starlette named only the first route's methods (GET).
    response = shared_client.request("PATCH", path)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.headers["allow"].split(", ")) == allowed


def test_pointer_escapes_slash_and_tilde(shared_client: TestClient) -> None:
    response = shared_client.post("/predict", json={"data": [[1, 2, 3, 4]], "a/b~c": 1})
    assert response.json()["errors"][0]["pointer"] == "#/a~1b~0c"


def test_too_many_rows_is_named(settings: Settings) -> None:
    limited = settings.model_copy(update={"max_rows_per_request": 2})
    with contextmanager(started)(limited) as client:
        response = client.post("/predict", json={"data": [[1, 2, 3, 4]] * 3})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"detail": "must have at most 2 rows", "type": "too_many_rows", "pointer": "#/data"}
    ]


def test_row_error_from_the_ml_layer_points_at_its_row_and_column(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/rows")
    async def rows() -> None:
        # JSON cannot carry NaN to /predict (the schema refuses it first): ask the ml layer.
        validate_rows([[1.0, 2.0], [3.0, float("nan")]], 2)

    response = TestClient(app).get("/rows")  # not started: no model needed
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"detail": "must be a finite number", "type": "finite", "pointer": "#/data/1/1"}
    ]


def test_field_errors_point_into_the_request_field_that_carried_each_input() -> None:
    errors = [
        FieldError(Input.ROWS, (3, 1), "must be a finite number", "finite"),
        FieldError(Input.ROWS, (2,), "must have exactly 4 values", "wrong_width"),
        FieldError(Input.HYPERPARAMETERS, ("max_depth",), "too deep", "less_than_equal"),
        FieldError(Input.ALGORITHM, (), "must be one of ...", "enum"),
    ]
    assert [error["pointer"] for error in field_errors(errors)] == [
        "#/data/3/1",
        "#/data/2",
        "#/hyperparameters/max_depth",
        "#/algorithm",
    ]
