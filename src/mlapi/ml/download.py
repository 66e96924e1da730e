"""Guarded HTTP(S) downloads into a cache folder."""

import hashlib
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from mlapi.ml.errors import DownloadError

_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def _file_name(url: str) -> str:
    name = _UNSAFE_NAME_CHARACTERS.sub("_", Path(urlsplit(url).path).name).lstrip(".")
    return name or "download"


def download(
    url: str,
    cache_dir: Path,
    *,
    sha256: str | None = None,
    max_bytes: int = 100 * 1024 * 1024,
    timeout: float = 60.0,
) -> Path:
    """Fetch a file over HTTP(S) into ``cache_dir``, checking its size, time and checksum.

    The body is streamed to a temporary file and renamed into place only once complete
    and verified, so the cache never holds a partial or wrong file. A file already
    cached under the expected checksum is returned without a request.

    Args:
        url: An ``http://`` or ``https://`` address.
        cache_dir: Folder that keeps downloaded files.
        sha256: Expected SHA-256 of the content, as hexadecimal; not checked if None.
        max_bytes: Largest accepted size; larger bodies are abandoned.
        timeout: Seconds allowed for the whole transfer, and for each network wait.

    Returns:
        Path of the downloaded (or cached) file.

    Raises:
        DownloadError: If the address is not HTTP(S), the server fails, the body is too
            large or too slow, or the checksum differs.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in {"http", "https"}:
        raise DownloadError(f"only http and https downloads are allowed, not {scheme!r}")
    expected = sha256.lower() if sha256 else None
    if expected is not None and not re.fullmatch(r"[0-9a-f]{64}", expected):
        raise DownloadError("sha256 must be 64 hexadecimal characters")
    name = _file_name(url)
    if expected is not None:
        cached = cache_dir / f"{expected}-{name}"
        if cached.is_file() and _file_sha256(cached) == expected:
            return cached

    cache_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(dir=cache_dir, prefix=".download-", delete=False) as handle:
        temporary = Path(handle.name)
        try:
            with (
                httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=5) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != httpx.codes.OK:
                    raise DownloadError(f"{url} answered HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise DownloadError(f"{url} is {declared} bytes, over the {max_bytes} cap")
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise DownloadError(f"{url} is over the {max_bytes}-byte cap")
                    if time.monotonic() > deadline:
                        raise DownloadError(f"{url} took over {timeout} seconds")
                    digest.update(chunk)
                    handle.write(chunk)
        except httpx.HTTPError as error:
            temporary.unlink(missing_ok=True)
            raise DownloadError(f"download of {url} failed: {error}") from error
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    actual = digest.hexdigest()
    if expected is not None and actual != expected:
        temporary.unlink(missing_ok=True)
        raise DownloadError(f"checksum mismatch for {url}: expected {expected}, got {actual}")
    destination = cache_dir / f"{actual}-{name}"
    temporary.replace(destination)
    return destination


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
