"""Many HTTP/1.1 requests in flight at once, from a client light enough not to be the bottleneck.

httpx answers a few hundred requests a second on these machines, so a thousand requests
"at once" through it arrive one by one. This client opens a few connections and writes
every request at once, pipelined (RFC 9112, section 9.3), then reads the answers in order.
"""

import asyncio
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """One response: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


async def _exchange(
    host: str, port: int, requests: list[tuple[str, bytes]], indices: list[int]
) -> dict[int, Answer]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            b"".join(
                b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s"
                % (requests[i][0].encode(), host.encode(), len(requests[i][1]), requests[i][1])
                for i in indices
            )
        )
        await writer.drain()
        answers = {}
        for index in indices:
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines:
                if line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers["content-length"]))
            answers[index] = Answer(int(status_line.split()[1]), headers, body)
        return answers
    finally:
        writer.close()


async def post_all_at_once(
    url: str, requests: list[tuple[str, bytes]], connections: int = 100
) -> list[Answer]:
    """POST every ``(path, JSON body)`` at once over ``connections`` pipelined connections.

    Returns:
        The answers, in the order of the requests.
    """
    host, port = url.removeprefix("http://").rsplit(":", 1)
    shares = [list(range(start, len(requests), connections)) for start in range(connections)]
    parts = await asyncio.gather(
        *(_exchange(host, int(port), requests, share) for share in shares if share)
    )
    merged = {index: answer for part in parts for index, answer in part.items()}
    return [merged[index] for index in range(len(requests))]
