"""The access policy: every route has a rule, keys and scopes decide, the rate limit counts."""

import hashlib
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from mlapi.api.access import UNROUTED, Access, Refusal, rule_for
from mlapi.keys import ApiKey, Keyring, Scope, key_digest, new_key
from mlapi.main import create_app
from mlapi.settings import Settings

ADMIN, READER = "mlapi_admin-key", "mlapi_reader-key"


def entry(name: str, scope: str, key: str) -> dict[str, str]:
    return {"name": name, "scope": scope, "sha256": hashlib.sha256(key.encode()).hexdigest()}


def access(tmp_path: Path, **settings: object) -> Access:
    return Access(Settings(model_dir=str(tmp_path / "models"), **settings))  # type: ignore[arg-type]


def headers(key: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {key}".encode())]


def test_every_route_of_the_app_has_a_rule_of_its_own(settings: Settings) -> None:
    # A route added without a rule would be open to anyone: UNROUTED needs no key.
    app = create_app(settings)
    # FastAPI keeps included routers as a tree: walk it (app.routes holds the routers).
    routes = [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.route, APIRoute)
    ]
    unruled = [
        f"{method} {route.path}"
        for route in routes
        for method in route.methods or ()
        if rule_for(method, route.path)[0] is UNROUTED
    ]

    assert len(routes) > 10  # every route of the API, not only the app's own
    assert unruled == []


@pytest.mark.parametrize(
    ("method", "path", "scope", "action"),
    [
        ("POST", "/predict", Scope.PREDICT, None),
        ("GET", "/v1/models/7", Scope.PREDICT, None),
        ("GET", "/v1/models/7/card", Scope.PREDICT, None),
        ("HEAD", "/v1/models", Scope.PREDICT, None),
        ("POST", "/train", Scope.ADMIN, "train"),
        ("POST", "/v1/models/7/activate", Scope.ADMIN, "activate"),
        ("DELETE", "/v1/models/7", Scope.ADMIN, "delete"),
        ("POST", "/v1/jobs/abc/cancel", Scope.ADMIN, "cancel"),
        ("GET", "/v1/audit", Scope.ADMIN, None),
        ("GET", "/v1/health/ready", None, None),
        ("GET", "/v2/health/live", None, None),
        ("GET", "/v2/health/ready", None, None),
        ("GET", "/v2", Scope.PREDICT, None),
        ("GET", "/v2/models/mlapi", Scope.PREDICT, None),
        ("GET", "/v2/models/mlapi/ready", Scope.PREDICT, None),
        ("GET", "/v2/models/mlapi/versions/2", Scope.PREDICT, None),
        ("GET", "/v2/models/mlapi/versions/2/ready", Scope.PREDICT, None),
        ("POST", "/v2/models/mlapi/infer", Scope.PREDICT, None),
        ("POST", "/v2/models/mlapi/versions/2/infer", Scope.PREDICT, None),
    ],
)
def test_rules_name_the_scope_and_the_audited_action(
    method: str, path: str, scope: Scope | None, action: str | None
) -> None:
    rule, _ = rule_for(method, path)
    assert (rule.scope, rule.action) == (scope, action)


def test_metrics_are_read_with_a_predict_key_and_never_refused_for_the_rate_limit() -> None:
    rule, _ = rule_for("GET", "/metrics")
    assert (rule.scope, rule.action, rule.limited) == (Scope.PREDICT, None, False)


def test_a_rule_says_what_the_path_acts_on() -> None:
    assert rule_for("DELETE", "/v1/models/7")[1] == "version 7"
    assert rule_for("GET", "/v1/jobs/abc")[1] == "job abc"


def test_without_keys_or_development_mode_only_model_changes_are_refused(tmp_path: Path) -> None:
    policy = access(tmp_path)

    assert policy.check(Scope.PREDICT, []) is None
    refusal = policy.check(Scope.ADMIN, headers(ADMIN))
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.kind) == (403, "admin-key-required")


def test_development_mode_opens_model_changes_only_while_no_admin_key_exists(
    tmp_path: Path,
) -> None:
    assert access(tmp_path, dev_mode=True).check(Scope.ADMIN, []) is None
    keyed = access(tmp_path, dev_mode=True, api_keys=[entry("ops", "admin", ADMIN)])
    refusal = keyed.check(Scope.ADMIN, [])
    assert isinstance(refusal, Refusal)
    assert refusal.status == 401


def test_scopes_decide_and_an_admin_key_may_predict(tmp_path: Path) -> None:
    policy = access(
        tmp_path, api_keys=[entry("ops", "admin", ADMIN), entry("app", "predict", READER)]
    )

    admin = policy.check(Scope.PREDICT, headers(ADMIN))
    assert isinstance(admin, ApiKey)
    assert admin.name == "ops"
    reader = policy.check(Scope.ADMIN, headers(READER))
    assert isinstance(reader, Refusal)
    assert (reader.status, reader.kind) == (403, "forbidden")
    missing = policy.check(Scope.PREDICT, [])
    assert isinstance(missing, Refusal)
    assert missing.challenge == 'Bearer realm="mlapi"'


def test_predict_routes_stay_open_while_only_admin_keys_exist(tmp_path: Path) -> None:
    policy = access(tmp_path, api_keys=[entry("ops", "admin", ADMIN)])

    assert policy.check(Scope.PREDICT, []) is None


def test_the_rate_limit_counts_each_identity_apart_and_says_when_to_retry(
    tmp_path: Path,
) -> None:
    policy = access(tmp_path, rate_limit="2/minute")

    assert policy.retry_after("key ops") is None
    assert policy.retry_after("key ops") is None
    wait = policy.retry_after("key ops")
    assert wait is not None
    assert 1 <= wait <= 60
    assert policy.retry_after("address 10.0.0.1") is None


def test_the_keyring_finds_a_key_by_its_digest_only() -> None:
    key = new_key()
    keyring = Keyring([ApiKey(name="ops", scope=Scope.ADMIN, sha256=key_digest(key).upper())])

    found = keyring.find(key)
    assert found is not None
    assert found.name == "ops"
    assert keyring.find(key_digest(key)) is None
    assert keyring.find(key + "x") is None
    assert key.startswith("mlapi_")
    assert len(key) > 40


@pytest.mark.parametrize(
    "keys",
    [
        [entry("ops", "admin", ADMIN), entry("ops", "predict", READER)],
        [entry("ops", "admin", ADMIN), entry("app", "predict", ADMIN)],
        [{"name": "ops", "scope": "root", "sha256": "0" * 64}],
        [{"name": "ops", "scope": "admin", "sha256": "not-hex"}],
    ],
)
def test_bad_key_settings_stop_the_start_up(keys: list[dict[str, str]]) -> None:
    with pytest.raises(ValueError, match="api_keys"):
        Settings(api_keys=keys)  # type: ignore[arg-type]


def test_a_rate_limit_that_does_not_parse_stops_the_start_up() -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 100/minute"):
        Settings(rate_limit="lots")
