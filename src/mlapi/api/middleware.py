"""Request limits enforced before any route runs.

Body size (413, counted while reading, so a client cannot make the server hold more),
the time a client takes to send its body (408), media type (415) and JSON nesting depth
(400, checked on the bytes before any parser recurses into them). A body without a
media type is refused too, but on the Open Inference Protocol's routes, which take it as
JSON.

There is no limit here on the time a client takes to send its *headers*: uvicorn reads
them before the app sees the request and has no such timeout (only TLS handshakes have
one, 60 seconds, and idle keep-alive connections one of 5). A reverse proxy in front
should set one (nginx's ``client_header_timeout``); see the deployment guide.
"""

import asyncio
import re
from typing import Any

import numpy as np
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlapi.api.errors import problem_response
from mlapi.api.oip import is_inference_path
from mlapi.api.oip.binary import HEADER as BINARY_HEADER

_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})

#: A JSON string, escapes included (the unrolled form: no backtracking per character).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)

#: +1 for each byte that opens an array or object, -1 for each that closes one.
_NESTING_STEP = np.zeros(256, dtype=np.int8)
_NESTING_STEP[[ord("["), ord("{")]] = 1
_NESTING_STEP[[ord("]"), ord("}")]] = -1


def json_too_deep(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays and objects more than ``limit`` deep.

    Brackets inside strings do not count. Cheap for most bodies (two byte counts);
    otherwise one regular expression and a running sum in numpy, never recursion.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    outside_strings = _JSON_STRING.sub(b"", body) if b'"' in body else body
    steps = _NESTING_STEP[np.frombuffer(outside_strings, dtype=np.uint8)]
    return bool(steps.size) and int(np.cumsum(steps, dtype=np.int32).max()) > limit


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header names JSON (``application/json`` or ``+json``)."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_body(receive: Receive, limit: int) -> tuple[list[bytes], bool] | None:
    """Read a request body, stopping as soon as it is over ``limit`` bytes.

    Returns:
        The chunks read, and whether the client has more to send (only ever true once
        the chunks are over the limit); None if the client went away.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more_body = bool(message.get("more_body", False))
        if size > limit or not more_body:
            return chunks, more_body


class BodyReader:
    """Read request bodies up to a size, cutting off clients that send them too slowly.

    One timer per process, not one per request: each read records its deadline, and a
    sweep every ``timeout / 4`` seconds (at most 1) while reads are in progress cancels
    those that are late. A late client is answered 408; the cost on a body that arrives
    at once is a dictionary entry.

    Args:
        max_bytes: Largest body read; a read stops as soon as it has more.
        timeout: Seconds a client may take to send the whole body.
    """

    def __init__(self, max_bytes: int, timeout: float) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._tick = min(1.0, timeout / 4)
        self._reading: dict[asyncio.Task[Any], float] = {}
        self._late: set[asyncio.Task[Any]] = set()
        self._sweep_loop: asyncio.AbstractEventLoop | None = None

    async def read(
        self, scope: Scope, receive: Receive, send: Send
    ) -> tuple[list[bytes], bool] | None:
        """Read a body as :func:`read_body` does, within the time allowed.

        Returns:
            What :func:`read_body` returns; None also when the client took longer than
            ``timeout`` seconds, which has been answered 408 (the connection closes).
        """
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - an ASGI app runs in a task
        loop = task.get_loop()
        self._reading[task] = loop.time() + self.timeout
        if self._sweep_loop is not loop:
            self._sweep_loop = loop
            loop.call_later(self._tick, self._sweep, loop)
        try:
            return await read_body(receive, self.max_bytes)
        except asyncio.CancelledError:
            if task not in self._late:
                raise
            self._late.discard(task)
            task.uncancel()
        finally:
            del self._reading[task]
        await self._timed_out(scope["path"])(scope, receive, send)
        return None

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for task, deadline in self._reading.items():
            if deadline <= now and task not in self._late:
                self._late.add(task)
                task.cancel()  # raised at the read's await: the task is waiting there
        if self._reading:
            loop.call_later(self._tick, self._sweep, loop)
        else:
            self._sweep_loop = None

    def _timed_out(self, path: str) -> Response:
        return problem_response(
            408,
            "request-timeout",
            f"The body did not arrive within {self.timeout:g} seconds.",
            instance=path,
            headers={"Connection": "close"},
        )


def replay_body(chunks: list[bytes], more_body: bool, receive: Receive) -> Receive:
    """Give an app the body already read, then whatever more the client sends.

    Args:
        chunks: The body read so far.
        more_body: Whether the client has more to send.
        receive: Reads the rest from the client.

    Returns:
        A ``receive`` for the app.
    """
    pending: list[Message] = [
        {"type": "http.request", "body": b"".join(chunks), "more_body": more_body}
    ]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


class RequestLimitsMiddleware:
    """Refuse request bodies that are too large, too slow, not JSON or nested too deep.

    The body is read here, up to the limit, and handed on to the app, so a client
    that lies about ``Content-Length`` or streams without one is caught the same way.

    Args:
        app: The application to protect.
        reader: Reads bodies within the size and time limits.
        max_json_depth: Deepest nesting of arrays and objects accepted.
    """

    def __init__(self, app: ASGIApp, reader: BodyReader, max_json_depth: int) -> None:
        self.app = app
        self.reader = reader
        self.max_body_bytes = reader.max_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on with its buffered body.

        Args:
            scope: The ASGI connection scope.
            receive: Reads request messages.
            send: Sends response messages.
        """
        if scope["type"] != "http" or scope["method"] in _BODYLESS_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = scope["path"]
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                response = problem_response(
                    400, "bad-request", "Content-Length is not a number.", instance=path
                )
                await response(scope, receive, send)
                return
            if int(declared) > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return

        read = await self.reader.read(scope, receive, send)
        if read is None:
            return  # the client went away, or was too slow and is answered
        chunks, _ = read
        size = sum(map(len, chunks))
        if size > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return

        content_type = headers.get("content-type")
        # The Open Inference Protocol's clients may send JSON without saying so (tritonclient).
        untyped_inference = content_type is None and is_inference_path(path)
        if size and not is_json(content_type) and not untyped_inference:
            response = problem_response(
                415,
                "unsupported-media-type",
                "Send the body as JSON with 'Content-Type: application/json'.",
                instance=path,
            )
            await response(scope, receive, send)
            return

        body = b"".join(chunks)
        if size and json_too_deep(_json_part(path, headers, body), self.max_json_depth):
            response = problem_response(
                400,
                "json-too-deep",
                f"The body nests arrays and objects over {self.max_json_depth} levels deep.",
                instance=path,
            )
            await response(scope, receive, send)
            return

        await self.app(scope, replay_body([body], False, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "content-too-large",
            f"The body is over the {self.max_body_bytes}-byte limit.",
            instance=scope["path"],
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _json_part(path: str, headers: Headers, body: bytes) -> bytes:
    """The JSON of a body: all of it, but binary tensors' bytes (:mod:`mlapi.api.oip.binary`)."""
    split = headers.get(BINARY_HEADER)
    if split is not None and split.isdigit() and is_inference_path(path):
        return body[: int(split)]
    return body
