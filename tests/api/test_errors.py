"""Error mapping: problem bodies, and no stack traces for unexpected failures."""

from fastapi.testclient import TestClient

from mlapi.main import create_app
from mlapi.settings import Settings


def test_unexpected_failure_is_a_500_problem_without_details(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text
    assert response.json()["type"] == "urn:mlapi:problem:internal-error"


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


def test_pointer_escapes_slash_and_tilde(shared_client: TestClient) -> None:
    response = shared_client.post("/predict", json={"data": [[1, 2, 3, 4]], "a/b~c": 1})
    assert response.json()["errors"][0]["pointer"] == "#/a~1b~0c"


def test_too_many_rows_is_named(settings: Settings) -> None:
    limited = settings.model_copy(update={"max_rows_per_request": 2})
    with TestClient(create_app(limited)) as client:
        while client.get("/v1/health/ready").status_code != 200:
            pass
        response = client.post("/predict", json={"data": [[1, 2, 3, 4]] * 3})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"detail": "must have at most 2 rows", "type": "too_many_rows", "pointer": "#/data"}
    ]
