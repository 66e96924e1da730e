"""Security headers on every answer, a docs page policy that lets /docs work, and CORS."""

import base64
import hashlib
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import LiveServer, start_server

SETOSA = {"data": [[5.1, 3.5, 1.4, 0.2]]}
ALLOWED_ORIGIN = "https://app.example.org"
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


@pytest.fixture(scope="module")
def cors_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose configuration lets one origin's pages call it."""
    server = start_server(
        tmp_path_factory.mktemp("cors-server"),
        extra_env={"MLAPI_CORS_ORIGINS": f"{ALLOWED_ORIGIN}, http://localhost:3000"},
    )
    yield server
    server.stop()


def _answers(server: LiveServer) -> dict[str, httpx.Response]:
    with server.client() as client:
        return {
            "quick-predict": client.post("/predict", json=SETOSA),
            "route": client.get("/v1/model"),
            "validation-problem": client.post("/predict", json={"data": [[1, 2]]}),
            "limits-problem": client.post("/predict", content=b"1,2,3,4"),
            "too-large": client.post(
                "/predict", content=b"[" * 3_000_000, headers={"content-type": "application/json"}
            ),
            "unknown-route": client.get("/nowhere"),
            "wrong-method": client.get("/predict"),
            "openapi": client.get("/openapi.json"),
        }


def test_every_answer_carries_the_security_headers_and_no_hsts_over_plain_http(
    shared_server: LiveServer,
) -> None:
    answers = _answers(shared_server)
    assert answers["quick-predict"].status_code == 200
    assert answers["too-large"].status_code == 413
    for name, answer in answers.items():
        headers = answer.headers
        assert headers.get("x-content-type-options") == "nosniff", name
        assert headers.get("cache-control") == "no-store", name
        assert headers.get("content-security-policy") == API_POLICY, name
        assert headers.get("referrer-policy") == "no-referrer", name
        assert headers.get("x-frame-options") == "DENY", name
        assert "strict-transport-security" not in headers, name
        # Each once: a second copy would mean a layer added them twice.
        assert len(headers.get_list("cache-control")) == 1, name


def _inline_script_hashes(html: str) -> set[str]:
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in scripts
    }


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_docs_pages_may_load_what_they_use_and_run_only_their_own_inline_script(
    shared_server: LiveServer, page: str
) -> None:
    with shared_server.client() as client:
        answer = client.get(page)
    assert answer.status_code == 200
    assert answer.headers["x-content-type-options"] == "nosniff"
    policy = _directives(answer.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    # Exactly the page's own inline scripts run: no 'unsafe-inline', no 'unsafe-eval'.
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts
    assert "'unsafe-eval'" not in scripts
    assert {value for value in scripts if value.startswith("'sha256-")} == (
        _inline_script_hashes(answer.text)
    )
    # Every script, style sheet and icon the page names is the server's own, and served:
    # the page works without internet access.
    named = 0
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", answer.text):
        found = re.search(r'(?:src|href)="([^"]+)"', tag)
        if found is None:
            continue
        named += 1
        directive = (
            "script-src"
            if tag.startswith("<script")
            else "img-src"
            if "icon" in tag
            else "style-src"
        )
        address = urlsplit(found[1])
        assert (address.scheme, address.netloc) == ("", ""), (page, found[1])
        assert "'self'" in policy[directive], (page, found[1], policy[directive])
        with shared_server.client() as client:
            asset = client.get(found[1])
        assert asset.status_code == 200, (page, found[1])
        kind = {"script-src": "javascript", "style-src": "text/css", "img-src": "image/"}
        assert kind[directive] in asset.headers["content-type"], (found[1], asset.headers)
    assert named >= (0 if page.endswith("oauth2-redirect") else 2), answer.text
    assert not [value for values in policy.values() for value in values if "://" in value]
    assert "'self'" in policy["connect-src"]  # the OpenAPI document


def test_redocs_logo_is_served_where_its_script_looks_for_it(shared_server: LiveServer) -> None:
    with shared_server.client() as client:
        logo = client.get("/redoc/logo-mini.svg")
    assert logo.status_code == 200
    assert logo.headers["content-type"] == "image/svg+xml"
    assert logo.content.lstrip().startswith(b"<svg")


def test_no_cors_headers_unless_origins_are_configured(shared_server: LiveServer) -> None:
    with shared_server.client() as client:
        preflight = client.options(
            "/v1/predict",
            headers={"origin": ALLOWED_ORIGIN, "access-control-request-method": "POST"},
        )
        simple = client.post("/predict", json=SETOSA, headers={"origin": ALLOWED_ORIGIN})
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code == 405
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


def test_cors_preflight_lets_a_configured_origin_send_a_key_and_json(
    cors_server: LiveServer,
) -> None:
    with cors_server.client() as client:
        preflight = client.options(
            "/v1/train",
            headers={
                "origin": ALLOWED_ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, x-api-key, content-type",
            },
        )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    allowed = {
        name.strip().lower()
        for name in preflight.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "x-api-key", "content-type"} <= allowed
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["x-content-type-options"] == "nosniff"


def test_cors_answers_of_a_configured_origin_say_it_may_read_them(
    cors_server: LiveServer,
) -> None:
    with cors_server.client() as client:
        quick = client.post("/predict", json=SETOSA, headers={"origin": ALLOWED_ORIGIN})
        problem = client.post("/v1/predict", json={"data": []}, headers={"origin": ALLOWED_ORIGIN})
    assert quick.status_code == 200
    assert quick.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert problem.status_code == 422
    assert problem.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_cors_refuses_another_origin(cors_server: LiveServer) -> None:
    stranger = "https://evil.example.com"
    with cors_server.client() as client:
        preflight = client.options(
            "/v1/train",
            headers={
                "origin": stranger,
                "access-control-request-method": "POST",
                "access-control-request-headers": "x-api-key",
            },
        )
        simple = client.post("/predict", json=SETOSA, headers={"origin": stranger})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    assert simple.status_code == 200  # answered, but the browser keeps it from the page
    assert "access-control-allow-origin" not in simple.headers
