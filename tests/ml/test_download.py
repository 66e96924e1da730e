"""Guarded downloads against a real HTTP server on the loopback interface."""

import contextlib
import functools
import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlapi.ml import DownloadError, IrisClassifier
from mlapi.ml.download import download

CONTENT = b"5.1,3.5,1.4,0.2,setosa\n" * 100
DIGEST = hashlib.sha256(CONTENT).hexdigest()
STREAMED_BYTES = 64 * 1024


class _Handler(SimpleHTTPRequestHandler):
    """Serves files from a folder, plus two special paths.

    ``/slow`` answers only once the test releases it; ``/stream`` sends a body without
    a Content-Length header, ending it by closing the connection; ``/trickle`` sends one
    byte every 0.15 s, three seconds in all.
    """

    def __init__(self, *args: Any, release: threading.Event, **kwargs: Any) -> None:
        self.release = release
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        try:
            if self.path == "/slow":
                self.release.wait(10)
                self._send(b"late")
            elif self.path == "/stream":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                for _ in range(STREAMED_BYTES // 1024):
                    self.wfile.write(b"x" * 1024)
            elif self.path == "/trickle":
                self.send_response(200)
                self.end_headers()
                for _ in range(20):  # each wait is short, but all of them add up
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    if self.release.wait(0.15):
                        break
            else:
                super().do_GET()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as the test wanted

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 in a thread; yield the base address."""
    release = threading.Event()
    handler = functools.partial(_Handler, directory=str(folder), release=release)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def www(tmp_path: Path) -> Path:
    folder = tmp_path / "www"
    folder.mkdir()
    (folder / "iris.csv").write_bytes(CONTENT)
    return folder


@pytest.fixture
def base(www: Path) -> Iterator[str]:
    with serve(www) as address:
        yield address


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_download_with_matching_checksum_stores_the_bytes_in_cache(base: str, cache: Path) -> None:
    path = download(f"{base}/iris.csv", cache, sha256=DIGEST)

    assert path == cache / f"{DIGEST}-iris.csv"
    assert path.read_bytes() == CONTENT
    assert os.listdir(cache) == [path.name]


def test_download_accepts_upper_case_checksum(base: str, cache: Path) -> None:
    path = download(f"{base}/iris.csv", cache, sha256=DIGEST.upper())

    assert path.read_bytes() == CONTENT


def test_download_without_checksum_names_file_by_its_hash(base: str, cache: Path) -> None:
    path = download(f"{base}/iris.csv", cache)

    assert path == cache / f"{DIGEST}-iris.csv"
    assert path.read_bytes() == CONTENT


def test_download_with_wrong_checksum_raises_and_leaves_cache_empty(base: str, cache: Path) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()

    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(f"{base}/iris.csv", cache, sha256=wrong)

    assert os.listdir(cache) == []


def test_download_reuses_cached_file_without_a_server(www: Path, cache: Path) -> None:
    with serve(www) as address:
        url = f"{address}/iris.csv"
        first = download(url, cache, sha256=DIGEST)
    (www / "iris.csv").unlink()

    again = download(url, cache, sha256=DIGEST)  # the server is gone

    assert again == first
    assert again.read_bytes() == CONTENT


def test_download_replaces_cached_file_whose_content_was_altered(base: str, cache: Path) -> None:
    url = f"{base}/iris.csv"
    path = download(url, cache, sha256=DIGEST)
    path.write_bytes(b"tampered")

    again = download(url, cache, sha256=DIGEST)

    assert again == path
    assert again.read_bytes() == CONTENT


def test_download_refuses_declared_length_over_the_cap(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match=rf"{len(CONTENT)} bytes, over the 100 cap"):
        download(f"{base}/iris.csv", cache, max_bytes=100)

    assert os.listdir(cache) == []


def test_download_refuses_streamed_body_over_the_cap(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match="over the 10000-byte cap"):
        download(f"{base}/stream", cache, max_bytes=10_000)

    assert os.listdir(cache) == []


def test_download_accepts_streamed_body_under_the_cap(base: str, cache: Path) -> None:
    path = download(f"{base}/stream", cache, max_bytes=STREAMED_BYTES)

    assert path.read_bytes() == b"x" * STREAMED_BYTES


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/iris.csv", "iris.csv", "data:,hello"]
)
def test_download_refuses_non_http_schemes(url: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match="only http and https"):
        download(url, cache)

    assert not cache.exists()


def test_download_of_missing_file_raises_with_status(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{base}/absent.csv", cache)

    assert os.listdir(cache) == []


def test_download_from_slow_server_raises_after_timeout(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match="failed"):
        download(f"{base}/slow", cache, timeout=0.5)

    assert os.listdir(cache) == []


def test_download_of_trickling_body_raises_once_total_time_is_over(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match=r"took over 0\.5 seconds"):
        download(f"{base}/trickle", cache, timeout=0.5)

    assert os.listdir(cache) == []


def test_download_from_closed_port_raises(www: Path, cache: Path) -> None:
    with serve(www) as address:
        pass  # the port is closed once the server stops

    with pytest.raises(DownloadError, match="failed"):
        download(f"{address}/iris.csv", cache, timeout=2)


@pytest.mark.parametrize(
    "sha256",
    ["abc", "z" * 64, DIGEST + "0", DIGEST[:-1] + " "],
    ids=["short", "z", "long", "space"],
)
def test_download_refuses_malformed_checksum(sha256: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match="64 hexadecimal"):
        download("http://127.0.0.1:9/iris.csv", cache, sha256=sha256)

    assert not cache.exists()


def test_download_sanitises_file_name_from_url(www: Path, base: str, cache: Path) -> None:
    (www / "..hidden data.csv").write_bytes(CONTENT)

    path = download(f"{base}/..hidden%20data.csv?x=1", cache)

    assert path.parent == cache
    assert path.name == f"{DIGEST}-hidden_20data.csv"


def test_classifier_download_uses_its_cache_dir(base: str, cache: Path) -> None:
    classifier = IrisClassifier(cache_dir=cache, download_timeout=5.0)

    path = classifier.download(f"{base}/iris.csv", DIGEST)

    assert path == cache / f"{DIGEST}-iris.csv"
    assert path.read_bytes() == CONTENT


def test_classifier_download_applies_its_size_cap(base: str, cache: Path) -> None:
    classifier = IrisClassifier(cache_dir=cache, download_max_bytes=10)

    with pytest.raises(DownloadError, match="cap"):
        classifier.download(f"{base}/iris.csv")
