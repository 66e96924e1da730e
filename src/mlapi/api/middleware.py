"""Request limits enforced before any route runs: body size (413) and media type (415)."""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mlapi.api.errors import problem_response

_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"})


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
    """Refuse request bodies that are too large or not JSON, with a problem response.

    The body is read here, up to the limit, and handed on to the app, so a client
    that lies about ``Content-Length`` or streams without one is caught the same way.

    Args:
        app: The application to protect.
        max_body_bytes: Largest body accepted.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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

        read = await read_body(receive, self.max_body_bytes)
        if read is None:
            return  # the client went away
        chunks, _ = read
        size = sum(map(len, chunks))
        if size > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return

        if size and not is_json(headers.get("content-type")):
            response = problem_response(
                415,
                "unsupported-media-type",
                "Send the body as JSON with 'Content-Type: application/json'.",
                instance=path,
            )
            await response(scope, receive, send)
            return

        await self.app(scope, replay_body(chunks, False, receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "content-too-large",
            f"The body is over the {self.max_body_bytes}-byte limit.",
            instance=scope["path"],
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
