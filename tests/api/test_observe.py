"""The request observer: ids kept or made, route templates for labels, even a 500 counted."""

import json
import logging

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mlapi.api.observe import UNMATCHED, RequestIds, RouteTemplates
from mlapi.main import create_app
from mlapi.settings import Settings


@pytest.mark.parametrize(
    "sent",
    [
        "abc-123",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "Root=1-5759e988-bd862e3fe1be46a994272793",
        "trace:span/7@host+x",
        "x" * 128,
    ],
)
def test_a_well_formed_request_id_is_kept(sent: str) -> None:
    assert RequestIds()([(b"host", b"a"), (b"x-request-id", sent.encode())]) == sent


@pytest.mark.parametrize(
    "sent",
    [b"", b"x" * 129, b"two words", b"line\nbreak", b'quote"d', "caf\u00e9".encode(), b"a;b"],
)
def test_a_malformed_request_id_is_replaced(sent: bytes) -> None:
    made = RequestIds()([(b"x-request-id", sent)])
    assert made != sent.decode(errors="replace")
    assert len(made) <= 64
    assert all(character in "0123456789abcdef-" for character in made)


def test_made_request_ids_are_distinct() -> None:
    ids = RequestIds()
    made = {ids([]) for _ in range(1000)}
    assert len(made) == 1000
    assert len({ident.split("-")[0] for ident in made}) == 1  # one draw per process


def test_route_templates_name_the_declared_path_never_the_raw_one() -> None:
    app = FastAPI()
    inner = APIRouter(prefix="/v1")

    @inner.get("/models/{version}")
    async def model(version: int) -> None: ...

    @inner.post("/predict")
    async def predict() -> None: ...

    app.include_router(inner)
    templates = RouteTemplates(app.router.routes)

    assert templates("/v1/predict") == "/v1/predict"
    assert templates("/v1/models/7") == "/v1/models/{version}"
    assert templates("/v1/models/not-a-number") == "/v1/models/{version}"
    assert templates("/v1/models/7/extra") == UNMATCHED
    assert templates("/wp-login.php") == UNMATCHED


def test_a_route_that_fails_unexpectedly_answers_500_with_its_request_id_counted_and_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    @app.get("/v1/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("broken")

    with TestClient(app, raise_server_exceptions=False) as client:
        with caplog.at_level(logging.INFO):
            failed = client.get("/v1/boom", headers={"X-Request-ID": "boom-1"})
        page = client.get("/metrics").text

    assert failed.status_code == 500
    assert failed.headers["x-request-id"] == "boom-1"
    assert failed.headers["x-content-type-options"] == "nosniff"
    counts = {
        (sample.labels["route"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == "mlapi_http_request_duration_seconds_count"
    }
    assert counts[("/v1/boom", "500")] == 1
    records = {record.getMessage(): record for record in caplog.records}
    assert records["unexpected error on GET /v1/boom"].request_id == "boom-1"  # type: ignore[attr-defined]
    access = records["GET /v1/boom 500"]
    assert (access.request_id, access.route, access.status) == ("boom-1", "/v1/boom", 500)  # type: ignore[attr-defined]
    assert json.dumps(access.duration_ms)  # type: ignore[attr-defined]
