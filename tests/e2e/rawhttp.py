"""Many HTTP/1.1 requests in flight at once, from a client light enough not to be the bottleneck.

httpx answers a few hundred requests a second on these machines, so a thousand requests
"at once" through it arrive one by one, and ten thousand take minutes of the suite.
:func:`post_all_at_once` opens a few connections and writes every request at once,
pipelined (RFC 9112, section 9.3), then reads the answers in order; :class:`Connection`
sends one request at a time on a keep-alive connection.
"""

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """One response: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


def _request(host: str, path: str, body: bytes) -> bytes:
    return (
        b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (path.encode(), host.encode(), len(body), body)
    )


async def _answer(reader: asyncio.StreamReader) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        if line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers["content-length"]))
    return Answer(int(status_line.split()[1]), headers, body)


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


async def _exchange(
    host: str, port: int, requests: list[tuple[str, bytes]], indices: list[int]
) -> dict[int, Answer]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"".join(_request(host, *requests[index]) for index in indices))
        await writer.drain()
        return {index: await _answer(reader) for index in indices}
    finally:
        writer.close()


class Connection:
    """One keep-alive connection that sends a request only once the last is answered."""

    def __init__(self, url: str) -> None:
        self.host, self.port = _address(url)
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes) -> Answer:
        """POST a JSON body and read the answer."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(_request(self.host, path, body))
        await writer.drain()
        return await _answer(reader)

    def close(self) -> None:
        """Close the connection."""
        if self._streams is not None:
            self._streams[1].close()


async def post_all_at_once(
    url: str, requests: list[tuple[str, bytes]], connections: int = 100
) -> list[Answer]:
    """POST every ``(path, JSON body)`` at once over ``connections`` pipelined connections.

    Returns:
        The answers, in the order of the requests.
    """
    host, port = _address(url)
    shares = [list(range(start, len(requests), connections)) for start in range(connections)]
    parts = await asyncio.gather(
        *(_exchange(host, port, requests, share) for share in shares if share)
    )
    merged = {index: answer for part in parts for index, answer in part.items()}
    return [merged[index] for index in range(len(requests))]
