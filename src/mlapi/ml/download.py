"""Guarded downloads into a cache folder, safe to point at the internet.

Every connection, the first and each redirect's, goes to an address resolved and checked
here (see :mod:`mlapi.ml.addresses`), so a name that resolves differently a second time
cannot slip past the check. Bodies are capped in size and time, and checked against their
expected SHA-256 before they reach the cache.
"""

import hashlib
import re
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpcore
import httpx

from mlapi.ml.addresses import IPNetwork, refusal, resolve
from mlapi.ml.errors import DownloadError

#: Called with the bytes received so far and the announced total, if any.
Progress = Callable[[int, int | None], None]

MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ALLOW_HINT = "allow it with MLAPI_DATASET_ALLOWED_NETWORKS"
_NETWORK_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
    OSError,
)
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class _RefusedError(Exception):
    """An address or a redirect the download may not follow; the message says why."""


def download(
    url: str,
    cache_dir: Path,
    *,
    sha256: str | None = None,
    max_bytes: int = 100 * 1024 * 1024,
    timeout: float = 60.0,
    connect_timeout: float = 10.0,
    allowed_networks: Sequence[IPNetwork] = (),
    allow_file: bool = False,
    ca_file: Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Fetch a file into ``cache_dir``, checking its address, size, time and checksum.

    The body is streamed to a temporary file and renamed into place only once complete
    and verified, so the cache never holds a partial or wrong file. A file already
    cached under the expected checksum is returned without a request. Redirects are
    followed (at most :data:`MAX_REDIRECTS`), to http and https addresses only.

    Args:
        url: An ``http://`` or ``https://`` address, or ``file:`` if ``allow_file``.
        cache_dir: Folder that keeps downloaded files; created if missing.
        sha256: Expected SHA-256 of the content, as hexadecimal; not checked if None.
        max_bytes: Largest accepted size; larger bodies are abandoned.
        timeout: Seconds allowed for the whole transfer, redirects included.
        connect_timeout: Seconds allowed for each connection to open.
        allowed_networks: Networks reachable even if loopback, private, link-local and
            so on (an internal mirror, a test server); none by default.
        allow_file: Whether a ``file:`` URL may be copied from the local disk.
        ca_file: PEM file of the certificate authorities trusted for https; None trusts
            the system's.
        progress: Called as the body arrives, e.g. to draw a progress bar.

    Returns:
        Path of the downloaded (or cached) file.

    Raises:
        DownloadError: If the scheme or an address is refused, the server fails, the
            body is too large or too slow, or the checksum differs.
    """
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as error:
        raise DownloadError(f"refused {url}: {error}") from error
    if scheme not in {"http", "https"} and not (scheme == "file" and allow_file):
        raise DownloadError(f"refused {url}: only http and https downloads are allowed")
    expected = sha256.lower() if sha256 else None
    if expected is not None and not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise DownloadError("sha256 must be 64 hexadecimal characters")
    name = _file_name(url)
    if expected is not None:
        cached = cache_dir / f"{expected}-{name}"
        if cached.is_file() and file_sha256(cached) == expected:
            return cached

    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache_dir, prefix=".download-", delete=False) as handle:
        temporary = Path(handle.name)
        try:
            transfer = _Transfer(url, handle, max_bytes, timeout, progress)
            if scheme == "file":
                _copy_local_file(transfer)
            else:
                _fetch(transfer, allowed_networks, ca_file, connect_timeout)
            actual = transfer.digest.hexdigest()
            if expected is not None and actual != expected:
                message = f"checksum mismatch for {url}: expected {expected}, got {actual}"
                raise DownloadError(message)
            destination = cache_dir / f"{actual}-{name}"
            temporary.replace(destination)
        except UnicodeError as error:  # a host name IDNA cannot encode
            temporary.unlink(missing_ok=True)
            raise DownloadError(f"refused {url}: the host name is invalid ({error})") from error
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    return destination


class _Transfer:
    """One body on its way into a temporary file, with its running size and digest."""

    def __init__(
        self, url: str, handle: IO[bytes], max_bytes: int, timeout: float, progress: Progress | None
    ) -> None:
        self.url = url
        self.handle = handle
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.progress = progress
        self.deadline = time.monotonic() + timeout
        self.size = 0
        self.total: int | None = None
        self.digest = hashlib.sha256()

    def remaining(self) -> float:
        """Seconds left before the deadline, refusing to go on once it has passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DownloadError(f"{self.url} took over {self.timeout} seconds")
        return left

    def expect(self, total: int) -> None:
        """Refuse a body announced as too large before reading any of it."""
        if total > self.max_bytes:
            raise DownloadError(f"{self.url} is {total} bytes, over the {self.max_bytes} cap")
        self.total = total

    def write(self, chunk: bytes) -> None:
        """Keep one more chunk, unless it breaks the size cap or arrives too late."""
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise DownloadError(f"{self.url} is over the {self.max_bytes}-byte cap")
        self.remaining()
        self.digest.update(chunk)
        self.handle.write(chunk)
        if self.progress is not None:
            self.progress(self.size, self.total)


def _copy_local_file(transfer: _Transfer) -> None:
    parts = urlsplit(transfer.url)
    if parts.netloc not in {"", "localhost"}:
        raise DownloadError(f"refused {transfer.url}: a file URL must not name another host")
    try:
        with Path(url2pathname(parts.path)).open("rb") as source:
            for block in iter(lambda: source.read(1 << 20), b""):
                transfer.write(block)
    except OSError as error:
        raise DownloadError(f"download of {transfer.url} failed: {error}") from error


def _fetch(
    transfer: _Transfer,
    allowed_networks: Sequence[IPNetwork],
    ca_file: Path | None,
    connect_timeout: float,
) -> None:
    url = transfer.url
    current = url
    try:
        backend = _GuardedBackend(allowed_networks, transfer.deadline)
        context = ssl.create_default_context(cafile=ca_file)
        with httpcore.ConnectionPool(ssl_context=context, network_backend=backend) as pool:
            for _ in range(MAX_REDIRECTS + 1):
                location = _get(pool, current, transfer, connect_timeout)
                if location is None:
                    return
                current = str(httpx.URL(current).join(location))
                if urlsplit(current).scheme.lower() not in {"http", "https"}:
                    raise _RefusedError("only http and https redirects are allowed")
    except _RefusedError as refused:
        if current == url:
            raise DownloadError(f"refused {url}: {refused}") from None
        raise DownloadError(f"{url}: redirect to {current} refused: {refused}") from None
    except httpcore.TimeoutException as error:
        if isinstance(error, httpcore.ConnectTimeout) and time.monotonic() < transfer.deadline:
            message = f"no connection within {connect_timeout} seconds"
            raise DownloadError(f"download of {current} failed: {message}") from error
        raise DownloadError(f"{url} took over {transfer.timeout} seconds") from error
    except (*_NETWORK_ERRORS, httpx.InvalidURL) as error:
        reason = str(error) or type(error).__name__
        raise DownloadError(f"download of {current} failed: {reason}") from error
    raise DownloadError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _get(
    pool: httpcore.ConnectionPool, url: str, transfer: _Transfer, connect_timeout: float
) -> str | None:
    """Stream ``url`` into the transfer, or return where it redirects to."""
    target = httpx.URL(url)  # normalises the host (IDNA) and percent-encodes the path
    if not target.host:
        raise _RefusedError("the address has no host")
    left = transfer.remaining()
    timeouts = {"connect": min(connect_timeout, left), "read": left, "write": left, "pool": left}
    with pool.stream(
        "GET",
        httpcore.URL(
            scheme=target.raw_scheme, host=target.raw_host, port=target.port, target=target.raw_path
        ),
        headers=[
            (b"Host", target.netloc),
            (b"User-Agent", b"mlapi"),
            (b"Accept-Encoding", b"identity"),
        ],
        extensions={"timeout": timeouts},
    ) as response:
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in response.headers
        }
        if response.status in _REDIRECT_STATUSES:
            if "location" not in headers:
                raise DownloadError(f"{url} redirects without a Location header")
            return headers["location"]
        if response.status != 200:
            raise DownloadError(f"{url} answered HTTP {response.status}")
        declared = headers.get("content-length", "")
        if declared.isdigit():
            transfer.expect(int(declared))
        for chunk in response.iter_stream():
            transfer.write(chunk)
    return None


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to resolved and checked addresses, and reads only until the deadline.

    httpcore still hands the URL's host name to TLS, so certificates are checked against
    it (and SNI sends it) although the socket connects to a bare IP address.
    """

    def __init__(self, allowed_networks: Sequence[IPNetwork], deadline: float) -> None:
        self.allowed_networks = allowed_networks
        self.deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve ``host``, refuse it if any of its addresses is, else connect to one."""
        addresses = resolve(host, port)
        for address in addresses:
            reason = refusal(address, self.allowed_networks)
            if reason is not None:
                raise _RefusedError(f"{reason} ({_ALLOW_HINT})")
        errors: list[httpcore.ConnectError] = []
        for address in addresses:
            try:
                stream = super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                errors.append(error)
            else:
                return _DeadlineStream(stream, self.deadline)
        raise errors[-1]


class _DeadlineStream(httpcore.NetworkStream):
    """A stream whose every read and write ends by the deadline, however slow the peer."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self.stream = stream
        self.deadline = deadline

    def _timeout(self, timeout: float | None) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the download's time is over")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self._timeout(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self._timeout(timeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        secure = self.stream.start_tls(ssl_context, server_hostname, self._timeout(timeout))
        return _DeadlineStream(secure, self.deadline)

    def get_extra_info(self, info: str) -> object:
        return self.stream.get_extra_info(info)


def _file_name(url: str) -> str:
    name = _UNSAFE_NAME_CHARACTERS.sub("_", Path(urlsplit(url).path).name).lstrip(".")
    return name[-100:] or "download"  # within any file system's limit, with the checksum


def file_sha256(path: Path) -> str:
    """Compute a file's SHA-256, in hexadecimal, reading it a mebibyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
