"""Who may call what: API keys and their scopes, and the rate limit.

:data:`RULES` says, for each route, the scope it needs (none, ``predict`` or ``admin``),
whether the rate limit counts it, and which action the audit log records it as.
:class:`~mlapi.api.guard.AccessMiddleware`, the app's outermost layer, enforces it
before anything else reads the request (the quick predict path included), and the
OpenAPI document declares the same, so Swagger UI's *Authorize* button sends the key.

- Predict and read routes are open until a key of the ``predict`` scope is configured.
- Model-changing routes need an ``admin`` key. With none configured they answer 403 and
  say how to make one, unless the server runs in development mode (``MLAPI_DEV_MODE``).
- Keys travel as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. A missing or
  unknown key is answered 401 with ``WWW-Authenticate``; a key of too small a scope 403.
- Every model-changing request, and every refused key, is recorded in the audit log
  before the answer is complete: time, key name (never the key), client address, outcome.
"""

import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from mlapi.keys import ApiKey, Keyring, Scope, allows
from mlapi.settings import Settings

#: OpenAPI security schemes: the two ways of sending a key.
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key, as `Authorization: Bearer <key>`. "
        "`mlapi keys new --scope admin` makes one.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same key, as `X-API-Key: <key>`.",
    },
}

_AUTHENTICATE = 'Bearer realm="mlapi"'


@dataclass(frozen=True)
class Rule:
    """What a route needs and how it is accounted for.

    Attributes:
        scope: The scope a key needs; None for routes open to anyone.
        action: What the audit log records a request as; None if it is not recorded.
        limited: Whether the rate limit counts it (health probes are not counted: a
            refused probe would get a healthy server restarted).
    """

    scope: Scope | None
    action: str | None = None
    limited: bool = True


_OPEN = Rule(None)
_PROBE = Rule(None, limited=False)
_READ = Rule(Scope.PREDICT)
#: Prometheus scrapes: read access, never refused for the rate limit (a gap in the data).
_SCRAPE = Rule(Scope.PREDICT, limited=False)
_ADMIN = Rule(Scope.ADMIN)

#: Rules of the routes without path parameters, by method and path.
RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/"): _OPEN,
    ("GET", "/docs"): _OPEN,
    ("GET", "/docs/oauth2-redirect"): _OPEN,
    ("GET", "/redoc"): _OPEN,
    ("GET", "/redoc/logo-mini.svg"): _OPEN,
    ("GET", "/openapi.json"): _OPEN,
    # The dashboard's page holds no data: what it shows, it reads with the user's key.
    ("GET", "/ui"): _OPEN,
    ("GET", "/v1/algorithms"): _READ,
    ("GET", "/v1/health/live"): _PROBE,
    ("GET", "/v1/health/ready"): _PROBE,
    ("GET", "/metrics"): _SCRAPE,
    ("POST", "/predict"): _READ,
    ("POST", "/v1/predict"): _READ,
    ("GET", "/v1/model"): _READ,
    ("GET", "/v1/models"): _READ,
    ("GET", "/v1/jobs"): _READ,
    ("POST", "/train"): Rule(Scope.ADMIN, "train"),
    ("POST", "/v1/train"): Rule(Scope.ADMIN, "train"),
    ("GET", "/v1/audit"): _ADMIN,
    ("GET", "/v2/health/live"): _PROBE,
    ("GET", "/v2/health/ready"): _PROBE,
    ("GET", "/v2"): _READ,
}

#: Rules of the routes with path parameters; the named group says what is acted on.
PATTERN_RULES: list[tuple[str, re.Pattern[str], Rule]] = [
    ("GET", re.compile(r"/v1/models/(?P<version>[^/]+)"), _READ),
    ("GET", re.compile(r"/v1/models/(?P<version>[^/]+)/card"), _READ),
    ("DELETE", re.compile(r"/v1/models/(?P<version>[^/]+)"), Rule(Scope.ADMIN, "delete")),
    (
        "POST",
        re.compile(r"/v1/models/(?P<version>[^/]+)/activate"),
        Rule(Scope.ADMIN, "activate"),
    ),
    ("GET", re.compile(r"/v1/jobs/(?P<job>[^/]+)"), _READ),
    ("POST", re.compile(r"/v1/jobs/(?P<job>[^/]+)/cancel"), Rule(Scope.ADMIN, "cancel")),
    # The documentation pages' scripts, styles and icons (mlapi.api.docs_pages).
    ("GET", re.compile(r"/docs/assets/(?P<file>.+)"), _OPEN),
    # The dashboard's script and styles (mlapi.api.dashboard).
    ("GET", re.compile(r"/ui/assets/(?P<file>.+)"), _OPEN),
    # The Open Inference Protocol's model routes: metadata, ready and infer, per version too.
    ("GET", re.compile(r"/v2/models/(?P<model>[^/]+)(?:/versions/[^/]+)?(?:/ready)?"), _READ),
    ("POST", re.compile(r"/v2/models/(?P<model>[^/]+)(?:/versions/[^/]+)?/infer"), _READ),
]

#: The rule of anything else: no route runs, and the router answers 404 or 405 (a test
#: checks that every route of the app has a rule of its own above).
UNROUTED = Rule(None)


def rule_for(method: str, path: str) -> tuple[Rule, str | None]:
    """Find the rule of a request.

    Args:
        method: The HTTP method (``HEAD`` counts as ``GET``).
        path: The request path, or a path template of the OpenAPI document.

    Returns:
        The rule, and what the request acts on (``version 3``, ``job <id>``) if the path
        names it.
    """
    method = "GET" if method == "HEAD" else method
    rule = RULES.get((method, path))
    if rule is not None:
        return rule, None
    for rule_method, pattern, rule in PATTERN_RULES:
        match = pattern.fullmatch(path)
        if match and rule_method == method:
            name, value = next(iter(match.groupdict().items()))
            return rule, f"{name} {value}"
    return UNROUTED, None


@dataclass(frozen=True)
class Refusal:
    """Why a request's key was refused: the status, problem kind and message."""

    status: int
    kind: str
    detail: str
    challenge: str | None = None


class Access:
    """The access policy of one server: its keys, development mode and rate limit.

    Args:
        settings: ``api_keys``, ``dev_mode`` and ``rate_limit``.
    """

    def __init__(self, settings: Settings) -> None:
        self.keyring = Keyring(settings.api_keys)
        self.dev_mode = settings.dev_mode
        self.limits: list[RateLimitItem] = (
            parse_many(settings.rate_limit) if settings.rate_limit else []
        )
        self._limiter: MovingWindowRateLimiter | None = None

    def needs_key(self, scope: Scope | None) -> bool:
        """Whether requests to routes of ``scope`` must carry a key now."""
        if scope is Scope.PREDICT:
            return self.keyring.predict_keys
        if scope is Scope.ADMIN:
            return self.keyring.admin_keys or not self.dev_mode
        return False

    def check(
        self, scope: Scope | None, headers: Iterable[tuple[bytes, bytes]]
    ) -> ApiKey | Refusal | None:
        """Decide whether a request may go on.

        Args:
            scope: What its route needs.
            headers: Its headers.

        Returns:
            The key it was made with, None if it needs none, or why it is refused.
        """
        if not self.needs_key(scope):
            return None
        assert scope is not None  # noqa: S101 - open routes need no key
        if not self.keyring.admin_keys and scope is Scope.ADMIN:
            return Refusal(
                403,
                "admin-key-required",
                "Changing models needs an admin API key, and this server has none: make "
                "one with 'mlapi keys new --scope admin' and add the entry it prints to "
                "MLAPI_API_KEYS, or, on a workstation, serve in development mode "
                "('mlapi serve --dev' or MLAPI_DEV_MODE=true).",
            )
        presented = _presented_key(headers)
        if presented is None:
            return Refusal(
                401,
                "unauthorized",
                f"This route needs an API key of the {scope} scope: send it as "
                "'Authorization: Bearer <key>' or 'X-API-Key: <key>'.",
                _AUTHENTICATE,
            )
        key = self.keyring.find(presented) if presented else None
        if key is None:
            return Refusal(
                401,
                "unauthorized",
                "The API key is not valid.",
                f'{_AUTHENTICATE}, error="invalid_token"',
            )
        if not allows(key, scope):
            return Refusal(
                403,
                "forbidden",
                f"The key '{key.name}' has the {key.scope} scope; this route needs an {scope} key.",
            )
        return key

    def retry_after(self, identity: str) -> int | None:
        """Count a request against the rate limit.

        Args:
            identity: Whose allowance it uses: a key's name, or a client address.

        Returns:
            Seconds until the allowance has room again if it is used up, else None.
        """
        if self._limiter is None:
            # Made at first use: its storage starts a thread, which would not survive
            # the fork of a worker from a supervisor that made it.
            self._limiter = MovingWindowRateLimiter(MemoryStorage())
        waits = [
            self._limiter.get_window_stats(limit, identity).reset_time - time.time()
            for limit in self.limits
            if not self._limiter.hit(limit, identity)
        ]
        return max(1, math.ceil(max(waits))) if waits else None


def _presented_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries, as ``Authorization: Bearer`` or ``X-API-Key``.

    Returns:
        The key; ``""`` (refused as invalid) for a malformed ``Authorization`` header or
        for two headers naming different keys, since one of them is not valid; None if
        there is none.
    """
    presented: set[str] = set()
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            presented.add(token.strip() if scheme.lower() == "bearer" else "")
        elif name == b"x-api-key":
            presented.add(value.decode("latin-1").strip())
    if not presented:
        return None
    return presented.pop() if len(presented) == 1 else ""
