"""Security headers on every response, and CORS when origins are configured.

Every answer carries ``X-Content-Type-Options: nosniff``, ``Cache-Control: no-store``
(a prediction, a model version or a job is never for a shared cache),
``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY`` and a content security policy;
over TLS, ``Strict-Transport-Security`` too. The API's answers are JSON that no browser
should run or frame, so their policy allows nothing. The documentation pages (``/docs``,
``/redoc``) load Swagger UI and ReDoc from the app itself (:mod:`mlapi.api.docs_pages`)
and run one inline script: their policy allows the app's own files and, by its SHA-256,
exactly the inline script the page holds, computed from the page itself so that it
follows whatever FastAPI renders. The dashboard (``/ui``) has no inline script or style
at all: its policy allows the app's own files and calls to the app's API, nothing else.
Nothing is loaded from another host.

The header lists are built once; per request the middleware only picks one and appends it.
"""

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlapi.api.dashboard import DASHBOARD
from mlapi.api.docs_pages import PAGES
from mlapi.settings import Settings

Header = tuple[bytes, bytes]

#: Over HTTPS only: browsers then refuse plain HTTP to this host for a year.
HSTS: Header = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")

_COMMON: list[Header] = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]

#: The API's own answers: JSON, nothing to load, run or frame.
API_POLICY = b"default-src 'none'; frame-ancestors 'none'"

#: The documentation pages' policy: Swagger UI, ReDoc and their icons from the app only.
_PAGE_POLICY = (
    "default-src 'none'; "
    "script-src 'self'{scripts}; "
    # Both renderers set styles inline as they build the page.
    "style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; "
    "img-src 'self' data:; "
    "connect-src 'self'; "  # the OpenAPI document, and Swagger UI's "Try it out"
    "worker-src blob:; "  # ReDoc's search
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

#: The dashboard's policy: its script, styles and the API's answers, from the app only.
#: Its script sets colours through the CSS object model, which a policy does not govern.
DASHBOARD_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def _common(https: bool) -> list[Header]:
    return [*_COMMON, HSTS] if https else list(_COMMON)


def api_headers(https: bool, policy: bytes = API_POLICY) -> list[Header]:
    """The security headers of an API answer, or of a page with a fixed ``policy``.

    Args:
        https: Whether the request came over TLS (adds ``Strict-Transport-Security``).
        policy: Its content security policy.
    """
    return [*_common(https), (b"content-security-policy", policy)]


def page_policy(html: bytes) -> bytes:
    """The content security policy of a documentation page: its inline scripts by hash.

    Args:
        html: The page as served.
    """
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return _PAGE_POLICY.format(scripts=hashes).encode()


class SecurityHeaders:
    """Add the security headers to every HTTP response of ``app``.

    Args:
        app: The application.
        pages: Paths of the HTML documentation pages, which get the page policy.
        policies: Other paths with a policy of their own (the dashboard's).
    """

    def __init__(
        self, app: ASGIApp, pages: Iterable[str], policies: Mapping[str, bytes] | None = None
    ) -> None:
        self.app = app
        self.pages = frozenset(pages)
        self._http = api_headers(https=False)
        self._https = api_headers(https=True)
        self._own = {
            path: {https: api_headers(https, policy) for https in (False, True)}
            for path, policy in (policies or {}).items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response it gets.

        Args:
            scope: The ASGI connection scope.
            receive: Reads request messages.
            send: Sends response messages.
        """
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.pages:
            await self._page(scope, receive, send)
            return
        https = scope["scheme"] == "https"
        own = self._own.get(scope["path"])
        extra = own[https] if own else self._https if https else self._http

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _page(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A page is small: hold it back whole, to hash the inline scripts it holds.
        start: Message | None = None
        body: list[bytes] = []

        async def send_page(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = b"".join(body)
            policy = [(b"content-security-policy", page_policy(page))]
            common = _common(scope["scheme"] == "https")
            start["headers"] = [*start.get("headers", ()), *common, *policy]
            await send(start)
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, send_page)


def install_browser_layers(app: FastAPI, settings: Settings) -> None:
    """Add CORS (if origins are configured) and then the security headers, outermost.

    Call it after every other ``add_middleware`` but the request observer's (which must
    see every answer): the last added runs first, so that CORS answers preflight
    requests before any key check, and every answer, the quick predictions' too, gets
    the headers. (The 500 answer to an unexpected error is made
    outside all middleware; :mod:`mlapi.api.errors` adds the headers to it.)

    CORS is off unless ``cors_origins`` names origins: then their pages may call every
    route with the methods the API uses and the headers that carry a body's type, an
    API key and a request id, and read the headers a client needs (``Location``,
    ``Retry-After``, ``WWW-Authenticate``, ``X-Request-ID``).

    Args:
        app: The application.
        settings: Where ``cors_origins`` comes from.
    """
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["Location", "Retry-After", "WWW-Authenticate", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders, pages=PAGES, policies={DASHBOARD: DASHBOARD_POLICY})
