"""Every malformed request gets the right 4xx and a problem body; none gets a 5xx."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer

GOOD_ROW = "[5.1, 3.5, 1.4, 0.2]"
JSON = {"content-type": "application/json"}
MAX_BODY_BYTES = 2 * 1024 * 1024


def _body(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": JSON}


def _chunks(size: int) -> Iterator[bytes]:
    yield b'{"data": ['
    sent = 0
    while sent < size:
        yield (GOOD_ROW + ", ").encode() * 1000
        sent += len(GOOD_ROW) * 1000
    yield GOOD_ROW.encode() + b"]}"


too_many_rows = "{" + '"data": [' + ", ".join([GOOD_ROW] * 10_001) + "]}"
deeply_nested = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"

# (method, path, request options, status, where the fault is: pointer, parameter or None)
HOSTILE = [
    pytest.param(
        "POST", "/predict", _body('{"data": [[1, 2, 3]]}'), 422, "#/data/0", id="short-row"
    ),
    pytest.param(
        "POST", "/predict", _body('{"data": [[1, 2, 3, 4, 5]]}'), 422, "#/data/0", id="long-row"
    ),
    pytest.param(
        "POST",
        "/predict",
        _body(f'{{"data": [{GOOD_ROW}, [1, 2]]}}'),
        422,
        "#/data/1",
        id="bad-second-row",
    ),
    pytest.param(
        "POST",
        "/predict",
        _body('{"data": [[1, 2, 3, "4.0"]]}'),
        422,
        "#/data/0/3",
        id="numeric-string",
    ),
    pytest.param(
        "POST", "/predict", _body('{"data": [["abc", 2, 3, 4]]}'), 422, "#/data/0/0", id="word"
    ),
    pytest.param(
        "POST", "/predict", _body('{"data": [[1, true, 3, 4]]}'), 422, "#/data/0/1", id="boolean"
    ),
    pytest.param(
        "POST", "/predict", _body('{"data": [[1, 2, null, 4]]}'), 422, "#/data/0/2", id="null"
    ),
    pytest.param(
        "POST", "/predict", _body('{"data": [[1, 2, NaN, 4]]}'), 422, "#/data/0/2", id="nan"
    ),
    pytest.param(
        "POST",
        "/predict",
        _body('{"data": [[Infinity, 2, 3, 4]]}'),
        422,
        "#/data/0/0",
        id="infinity",
    ),
    pytest.param(
        "POST",
        "/predict",
        _body('{"data": [[1, 2, 3, -Infinity]]}'),
        422,
        "#/data/0/3",
        id="-infinity",
    ),
    pytest.param(
        "POST", "/predict", _body('{"data": [[1e999, 2, 3, 4]]}'), 422, "#/data/0/0", id="overflow"
    ),
    pytest.param("POST", "/predict", _body('{"data": []}'), 422, "#/data", id="empty-data"),
    pytest.param("POST", "/predict", _body('{"data": [[]]}'), 422, "#/data/0", id="empty-row"),
    pytest.param("POST", "/predict", _body("{}"), 422, "#/data", id="missing-data"),
    pytest.param("POST", "/predict", _body('{"data": 5}'), 422, "#/data", id="data-not-list"),
    pytest.param("POST", "/predict", _body('{"data": [5]}'), 422, "#/data/0", id="row-not-list"),
    pytest.param("POST", "/predict", _body("[[1, 2, 3, 4]]"), 422, "#", id="body-not-object"),
    pytest.param(
        "POST",
        "/predict",
        _body(f'{{"data": [{GOOD_ROW}], "extra": 1}}'),
        422,
        "#/extra",
        id="unknown-field",
    ),
    pytest.param(
        "POST", "/predict", _body('{"data": [[1, 2, 3, 4]'), 400, None, id="malformed-json"
    ),
    pytest.param(
        "POST",
        "/predict",
        {"content": b'{"data": [[\xff, 2, 3, 4]]}', "headers": JSON},
        400,
        None,
        id="bad-utf8",
    ),
    pytest.param("POST", "/predict", _body(deeply_nested), 400, None, id="deeply-nested"),
    pytest.param("POST", "/predict", {"headers": JSON}, 422, "#", id="empty-body"),
    pytest.param(
        "POST",
        "/predict",
        {"content": b'{"data": [[1, 2, 3, 4]]}', "headers": {"content-type": "text/plain"}},
        415,
        None,
        id="text-plain",
    ),
    pytest.param("POST", "/predict", {"data": {"data": "1,2,3,4"}}, 415, None, id="form-encoded"),
    pytest.param(
        "POST",
        "/predict",
        {"content": b'{"data": [[1, 2, 3, 4]]}'},
        415,
        None,
        id="no-content-type",
    ),
    pytest.param(
        "POST",
        "/predict",
        _body('{"data": [' + ", ".join([GOOD_ROW] * 100_000) + "]}"),
        413,
        None,
        id="body-over-limit",
    ),
    pytest.param(
        "POST",
        "/predict",
        {"content": _chunks(MAX_BODY_BYTES + 1), "headers": JSON},
        413,
        None,
        id="chunked-body-over-limit",
    ),
    pytest.param("POST", "/predict", _body(too_many_rows), 422, "#/data", id="too-many-rows"),
    pytest.param(
        "POST",
        "/predict",
        _body('{"data": [[' + ", ".join(["1"] * 10_000) + "]]}"),
        422,
        "#/data/0",
        id="wide-row",
    ),
    pytest.param(
        "POST", "/v1/predict", _body('{"data": [[1, 2, NaN, 4]]}'), 422, "#/data/0/2", id="v1-nan"
    ),
    pytest.param(
        "POST", "/v1/predict", _body('{"data": [[1, 2]]}'), 422, "#/data/0", id="v1-short-row"
    ),
    pytest.param(
        "POST", "/train?gradient_boosting=maybe", {}, 422, "gradient_boosting", id="bad-flag"
    ),
    pytest.param(
        "POST", "/train?gradient_boosting=", {}, 422, "gradient_boosting", id="empty-flag"
    ),
    pytest.param("POST", "/train?debug=1", {}, 422, "debug", id="unknown-query"),
    pytest.param(
        "POST",
        "/predict?verbose=true",
        _body(f'{{"data": [{GOOD_ROW}]}}'),
        422,
        "verbose",
        id="predict-query",
    ),
    pytest.param("GET", "/predict", {}, 405, None, id="wrong-method"),
    pytest.param("GET", "/v2/nothing", {}, 404, None, id="unknown-route"),
]


@pytest.mark.parametrize(("method", "path", "options", "status", "locator"), HOSTILE)
def test_hostile_request_gets_4xx_problem(
    shared_server: LiveServer,
    method: str,
    path: str,
    options: dict[str, Any],
    status: int,
    locator: str | None,
) -> None:
    with shared_server.client() as client:
        response = client.request(method, path, **options)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("urn:mlapi:problem:")
    assert problem["title"]
    assert problem["detail"]
    if locator is not None:
        located = {error.get("pointer") or error.get("parameter") for error in problem["errors"]}
        assert locator in located, problem


def test_server_still_answers_after_the_hostile_table(shared_server: LiveServer) -> None:
    with shared_server.client() as client:
        response = client.post(
            "/predict", content=b'{"data": [[5.1, 3.5, 1.4, 0.2]]}', headers=JSON
        )
    assert response.content == b'{"prediction":[0],"probability":[[1.0,0.0,0.0]]}'
