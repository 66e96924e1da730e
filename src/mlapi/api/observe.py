"""What each request leaves behind: its request id, its metrics and its access log line.

:class:`Observe` is the app's outermost layer, so it sees every answer: the quick
predictions', refusals of the access policy (401, 403, 429), of the request limits
(408, 413, 415) and of the browser layers (a CORS preflight), and the 500 that
Starlette's error layer sends outside every middleware when a route fails unexpectedly.

- **Request id.** A client's ``X-Request-ID`` is kept if it is 1 to 128 characters of
  letters, digits and ``._:@+=/-``; otherwise (or if there is none) one is made
  (:class:`RequestIds`). Every answer carries it back in ``X-Request-ID``; every log line written on
  behalf of the request carries it as ``request_id`` (:data:`mlapi.logs.REQUEST_ID`),
  and so do the lines of a training job it queued.
- **Metrics.** ``mlapi_http_request_duration_seconds`` by route template (the path as the
  route declares it, ``/v1/models/{version}``; ``unmatched`` for a path no route takes:
  never the raw path, whose values would be unbounded), method and status; ``499`` when
  the client went away before any answer.
- **Access log.** One ``mlapi.access`` line at the ``info`` level per request (unless
  ``access_log`` is off): method, path (without its query string), route, status,
  duration in milliseconds, request id and client address.

The work per request is a few dictionary look-ups, two clock readings and a closure;
the metrics are tallied in memory (:mod:`mlapi.metrics`).
"""

import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlapi.logs import REQUEST_ID
from mlapi.metrics import Metrics

#: The ASGI scope entry holding a request's id, for the routes and the error handlers.
REQUEST_ID_KEY = "mlapi.request_id"

#: The request and response header carrying it.
REQUEST_ID_HEADER = b"x-request-id"

#: What a client's request id may be; anything else is replaced.
VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:@+=/-]{1,128}")

#: The route label of a path no route takes.
UNMATCHED = "unmatched"

#: Methods counted by name; any other is counted as ``OTHER``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: The status counted when the client went away before any answer (as nginx counts it).
CLIENT_GONE = 499

#: Longest path written to the access log.
MAX_LOGGED_PATH = 1000

access_logger = logging.getLogger("mlapi.access")


class RequestIds:
    """Make request ids: 16 hex digits drawn for the process, a dash, a count in hex.

    Unique, not secret (a client can send any id it likes): a count is cheaper than a
    random draw per request. A forked worker draws its own digits before its first id.
    """

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._count = itertools.count(1)

    def __call__(self, headers: Sequence[tuple[bytes, bytes]]) -> str:
        """The request's own ``X-Request-ID`` if it is valid, else a new one."""
        for name, value in headers:
            if name == REQUEST_ID_HEADER:
                if VALID_REQUEST_ID.fullmatch(value):
                    return value.decode("ascii")
                break
        if self._pid != os.getpid():
            self._pid, self._prefix = os.getpid(), f"{secrets.randbits(64):016x}-"
        return f"{self._prefix}{next(self._count):x}"


class RouteTemplates:
    """Name the route template a path belongs to.

    Args:
        routes: The app's routes, read at the first request (and again if more are
            added): a dictionary of the plain paths, then the patterns of the others.
            Included routers are walked into (FastAPI keeps them as a tree).
    """

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = routes
        self._seen = -1
        self._plain: dict[str, str] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []

    def __call__(self, path: str) -> str:
        """The template of the route that takes ``path``, or :data:`UNMATCHED`."""
        if len(self._routes) != self._seen:
            self._read_routes()
        template = self._plain.get(path)
        if template is not None:
            return template
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return UNMATCHED

    def _read_routes(self) -> None:
        plain: dict[str, str] = {}
        patterns: dict[str, re.Pattern[str]] = {}  # one per template, whatever its methods
        for route in iter_route_contexts(self._routes):
            template = getattr(route, "path_format", None)
            pattern = getattr(route, "path_regex", None)
            if template is None or pattern is None:
                continue
            if getattr(route, "param_convertors", None):
                patterns.setdefault(template, pattern)
            else:
                plain[template] = template
        self._plain, self._seen = plain, len(self._routes)
        self._patterns = [(pattern, template) for template, pattern in patterns.items()]


class Observe:
    """Give each request an id, and count and log it once it is answered.

    Args:
        app: The application.
        metrics: Where requests are counted.
        routes: The app's routes, whose templates label the counts.
        access_log: Whether to write the access log line of each request.
    """

    def __init__(
        self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute], access_log: bool
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = RouteTemplates(routes)
        self.access_log = access_log
        self.request_ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its id; count and log its answer.

        Args:
            scope: The ASGI connection scope.
            receive: Reads request messages.
            send: Sends response messages.
        """
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = self.request_ids(scope["headers"])
        scope[REQUEST_ID_KEY] = request_id
        # Not reset after: the server runs each request in a task, in a copy of the context.
        REQUEST_ID.set(request_id)
        header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        status = CLIENT_GONE

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if status == CLIENT_GONE:
                status = 500  # what Starlette's error layer answers, outside this one
            raise
        finally:
            seconds = time.perf_counter() - start
            method = scope["method"]
            if method not in METHODS:
                method = "OTHER"
            route = self.templates(scope["path"])
            self.metrics.request(route, method, status, seconds)
            if self.access_log and access_logger.isEnabledFor(logging.INFO):
                _log_access(scope, method, route, status, seconds, request_id)


def _log_access(
    scope: Scope, method: str, route: str, status: int, seconds: float, request_id: str
) -> None:
    path = scope["path"][:MAX_LOGGED_PATH]
    client = scope.get("client")
    access_logger.info(
        "%s %s %d",
        method,
        path,
        status,
        extra={
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
            "client": f"{client[0]}:{client[1]}" if client else None,
        },
    )
