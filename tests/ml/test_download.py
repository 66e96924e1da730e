"""Guarded downloads against real HTTP(S) servers on the loopback interface."""

import contextlib
import datetime
import functools
import hashlib
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mlapi.ml import DownloadError, IrisClassifier
from mlapi.ml.download import download

CONTENT = b"5.1,3.5,1.4,0.2,setosa\n" * 100
DIGEST = hashlib.sha256(CONTENT).hexdigest()
STREAMED_BYTES = 64 * 1024
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


@dataclass
class Server:
    """A running test server: its base address and the paths it was asked for."""

    base: str
    requests: list[str] = field(default_factory=list)


class _Handler(SimpleHTTPRequestHandler):
    """Serves files from a folder, plus special paths.

    ``/slow`` answers only once the test releases it; ``/stream`` sends a body without
    a Content-Length header, ending it by closing the connection; ``/drip`` sends one
    byte every 0.1 s, five seconds in all; ``/redirect?to=URL`` redirects to URL;
    ``/hop/N`` redirects to ``N-1`` (relative), and ``/hop/0`` to ``../iris.csv``;
    ``/loop`` redirects to itself.
    """

    def __init__(self, *args: Any, server_state: Server, release: threading.Event, **kwargs: Any):
        self.server_state = server_state
        self.release = release
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.server_state.requests.append(self.path)
        path = urlsplit(self.path).path
        try:
            if path == "/slow":
                self.release.wait(10)
                self._send(b"late")
            elif path == "/stream":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                for _ in range(STREAMED_BYTES // 1024):
                    self.wfile.write(b"x" * 1024)
            elif path == "/drip":
                self.send_response(200)
                self.end_headers()
                for _ in range(50):  # each wait is short, but all of them add up
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    if self.release.wait(0.1):
                        break
            elif path == "/redirect":
                self._redirect(parse_qs(urlsplit(self.path).query)["to"][0])
            elif path.startswith("/hop/"):
                hops = int(path.removeprefix("/hop/"))
                self._redirect(str(hops - 1) if hops else "../iris.csv")
            elif path == "/loop":
                self._redirect("/loop")
            else:
                super().do_GET()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as the test wanted

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    """Serve ``folder`` over HTTP (or HTTPS with ``tls``) on 127.0.0.1 in a thread."""
    release = threading.Event()
    state = Server(base="")
    handler = functools.partial(
        _Handler, directory=str(folder), server_state=state, release=release
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls else "http"
    state.base = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
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
def server(www: Path) -> Iterator[Server]:
    with serve(www) as running:
        yield running


@pytest.fixture
def base(server: Server) -> str:
    return server.base


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record the address of every TCP connection opened (the client's and the tests')."""
    opened: list[tuple[str, int]] = []
    create_connection = socket.create_connection

    def recording(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append(address)
        return create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return opened


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for localhost and 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = folder / "cert.pem", folder / "key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_file, key_file


@pytest.fixture
def https_server(www: Path, tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """An HTTPS server on 127.0.0.1 and the certificate a client must trust to reach it."""
    certificate_file, key_file = self_signed_certificate(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate_file, key_file)
    with serve(www, tls) as running:
        yield running, certificate_file


# The basics: cache, checksum, file name.


def test_download_with_matching_checksum_stores_the_bytes_in_cache(base: str, cache: Path) -> None:
    path = download(f"{base}/iris.csv", cache, sha256=DIGEST, allowed_networks=LOOPBACK)

    assert path == cache / f"{DIGEST}-iris.csv"
    assert path.read_bytes() == CONTENT
    assert os.listdir(cache) == [path.name]


def test_download_accepts_upper_case_checksum(base: str, cache: Path) -> None:
    path = download(f"{base}/iris.csv", cache, sha256=DIGEST.upper(), allowed_networks=LOOPBACK)

    assert path.read_bytes() == CONTENT


def test_download_without_checksum_names_file_by_its_hash(base: str, cache: Path) -> None:
    path = download(f"{base}/iris.csv", cache, allowed_networks=LOOPBACK)

    assert path == cache / f"{DIGEST}-iris.csv"
    assert path.read_bytes() == CONTENT


def test_download_with_wrong_checksum_raises_and_leaves_cache_empty(base: str, cache: Path) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()

    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(f"{base}/iris.csv", cache, sha256=wrong, allowed_networks=LOOPBACK)

    assert os.listdir(cache) == []


def test_download_reuses_cached_file_without_a_server(www: Path, cache: Path) -> None:
    with serve(www) as running:
        url = f"{running.base}/iris.csv"
        first = download(url, cache, sha256=DIGEST, allowed_networks=LOOPBACK)
    (www / "iris.csv").unlink()

    again = download(url, cache, sha256=DIGEST, allowed_networks=LOOPBACK)  # the server is gone

    assert again == first
    assert again.read_bytes() == CONTENT


def test_download_replaces_cached_file_whose_content_was_altered(base: str, cache: Path) -> None:
    url = f"{base}/iris.csv"
    path = download(url, cache, sha256=DIGEST, allowed_networks=LOOPBACK)
    path.write_bytes(b"tampered")

    again = download(url, cache, sha256=DIGEST, allowed_networks=LOOPBACK)

    assert again == path
    assert again.read_bytes() == CONTENT


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

    path = download(f"{base}/..hidden%20data.csv?x=1", cache, allowed_networks=LOOPBACK)

    assert path.parent == cache
    assert path.name == f"{DIGEST}-hidden_20data.csv"


def test_download_reports_progress_up_to_the_file_size(base: str, cache: Path) -> None:
    calls: list[tuple[int, int | None]] = []

    download(
        f"{base}/iris.csv", cache, allowed_networks=LOOPBACK, progress=lambda *c: calls.append(c)
    )
    download(
        f"{base}/stream", cache, allowed_networks=LOOPBACK, progress=lambda *c: calls.append(c)
    )

    announced = [size for size, total in calls if total == len(CONTENT)]
    streamed = [size for size, total in calls if total is None]
    assert len(announced) + len(streamed) == len(calls)
    for sizes, final in [(announced, len(CONTENT)), (streamed, STREAMED_BYTES)]:
        assert sizes == sorted(set(sizes))
        assert sizes[-1] == final


# Schemes and the local disk.


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/iris.csv", "iris.csv", "data:,hello"]
)
def test_download_refuses_non_http_schemes(url: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match=r"refused .*: only http and https downloads"):
        download(url, cache, allowed_networks=LOOPBACK)

    assert not cache.exists()


def test_download_copies_file_url_when_allowed(www: Path, cache: Path) -> None:
    path = download((www / "iris.csv").as_uri(), cache, sha256=DIGEST, allow_file=True)

    assert path == cache / f"{DIGEST}-iris.csv"
    assert path.read_bytes() == CONTENT


def test_download_applies_size_cap_to_file_url(www: Path, cache: Path) -> None:
    with pytest.raises(DownloadError, match="over the 100-byte cap"):
        download((www / "iris.csv").as_uri(), cache, max_bytes=100, allow_file=True)

    assert os.listdir(cache) == []


def test_download_of_missing_local_file_raises(www: Path, cache: Path) -> None:
    with pytest.raises(DownloadError, match="failed"):
        download((www / "absent.csv").as_uri(), cache, allow_file=True)

    assert os.listdir(cache) == []


# Addresses: refused before any connection unless allowed.


def test_download_refuses_loopback_by_default(
    server: Server, cache: Path, connections: list[tuple[str, int]]
) -> None:
    url = f"{server.base}/iris.csv"
    message = rf"refused {url}: 127\.0\.0\.1 is a loopback address \(allow it with MLAPI_"

    with pytest.raises(DownloadError, match=message):
        download(url, cache)

    assert server.requests == []
    assert connections == []
    assert os.listdir(cache) == []


def test_download_reaches_loopback_within_allowed_networks(server: Server, cache: Path) -> None:
    path = download(f"{server.base}/iris.csv", cache, allowed_networks=LOOPBACK)

    assert path.read_bytes() == CONTENT
    assert server.requests == ["/iris.csv"]


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("[::1]", r"::1 is a loopback address"),
        ("[::ffff:127.0.0.1]", r"embeds 127\.0\.0\.1, which is a loopback address"),
        ("0.0.0.0", r"0\.0\.0\.0 is an unspecified address"),  # noqa: S104 - a target here
        ("localhost", r"is a loopback address"),  # checked once resolved
    ],
)
def test_download_refuses_loopback_in_any_spelling(
    host: str, reason: str, server: Server, cache: Path, connections: list[tuple[str, int]]
) -> None:
    port = urlsplit(server.base).port

    with pytest.raises(DownloadError, match=reason):
        download(f"http://{host}:{port}/iris.csv", cache)

    assert server.requests == []
    assert connections == []


# Redirects: each target checked again.


def test_download_follows_relative_redirects_up_to_the_limit(server: Server, cache: Path) -> None:
    path = download(f"{server.base}/hop/4", cache, allowed_networks=LOOPBACK)

    assert path.read_bytes() == CONTENT
    assert server.requests[-1] == "/iris.csv"
    assert len(server.requests) == 6


def test_download_stops_redirect_loop_after_five(server: Server, cache: Path) -> None:
    with pytest.raises(DownloadError, match="more than 5 redirects"):
        download(f"{server.base}/loop", cache, allowed_networks=LOOPBACK)

    assert len(server.requests) == 6
    assert os.listdir(cache) == []


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://10.255.255.1/x", r"10\.255\.255\.1 is a private address"),
        (
            "http://169.254.169.254/latest/meta-data/",
            r"169\.254\.169\.254 is a cloud metadata address",
        ),
    ],
)
def test_download_refuses_redirect_to_internal_address_without_connecting(
    target: str, reason: str, server: Server, cache: Path, connections: list[tuple[str, int]]
) -> None:
    url = f"{server.base}/redirect?to={target}"
    server_port = urlsplit(server.base).port

    with pytest.raises(DownloadError, match=rf"redirect to {target} refused: {reason}"):
        download(url, cache, allowed_networks=LOOPBACK)

    assert connections == [("127.0.0.1", server_port)]
    assert os.listdir(cache) == []


def test_download_refuses_redirect_to_file_url_even_if_files_are_allowed(
    server: Server, cache: Path
) -> None:
    url = f"{server.base}/redirect?to=file:///etc/passwd"

    with pytest.raises(DownloadError, match=r"redirect to file:/+etc/passwd refused: only http"):
        download(url, cache, allowed_networks=LOOPBACK, allow_file=True)

    assert os.listdir(cache) == []


# Size and time.


def test_download_refuses_declared_length_over_the_cap(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match=rf"{len(CONTENT)} bytes, over the 100 cap"):
        download(f"{base}/iris.csv", cache, max_bytes=100, allowed_networks=LOOPBACK)

    assert os.listdir(cache) == []


def test_download_refuses_streamed_body_over_the_cap(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match="over the 10000-byte cap"):
        download(f"{base}/stream", cache, max_bytes=10_000, allowed_networks=LOOPBACK)

    assert os.listdir(cache) == []


def test_download_accepts_streamed_body_under_the_cap(base: str, cache: Path) -> None:
    path = download(f"{base}/stream", cache, max_bytes=STREAMED_BYTES, allowed_networks=LOOPBACK)

    assert path.read_bytes() == b"x" * STREAMED_BYTES


def test_download_of_missing_file_raises_with_status(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{base}/absent.csv", cache, allowed_networks=LOOPBACK)

    assert os.listdir(cache) == []


def test_download_from_silent_server_raises_once_total_time_is_over(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match=r"took over 0\.5 seconds"):
        download(f"{base}/slow", cache, timeout=0.5, allowed_networks=LOOPBACK)

    assert os.listdir(cache) == []


def test_download_of_dripping_body_raises_once_total_time_is_over(base: str, cache: Path) -> None:
    with pytest.raises(DownloadError, match=r"took over 1\.0 seconds"):
        download(f"{base}/drip", cache, timeout=1.0, allowed_networks=LOOPBACK)

    assert os.listdir(cache) == []


def test_download_from_closed_port_raises(www: Path, cache: Path) -> None:
    with serve(www) as running:
        pass  # the port is closed once the server stops

    with pytest.raises(DownloadError, match="failed"):
        download(f"{running.base}/iris.csv", cache, timeout=2, allowed_networks=LOOPBACK)


# HTTPS: certificates checked against the URL's host name, not the IP connected to.


def test_download_over_https_trusts_the_given_certificate_authority(
    https_server: tuple[Server, Path], cache: Path
) -> None:
    server, certificate_file = https_server
    url = f"https://localhost:{urlsplit(server.base).port}/iris.csv"

    loopback = [*LOOPBACK, ipaddress.ip_network("::1/128")]  # wherever localhost resolves

    path = download(url, cache, sha256=DIGEST, allowed_networks=loopback, ca_file=certificate_file)

    assert path.read_bytes() == CONTENT


def test_download_over_https_refuses_unknown_certificate_authority(
    https_server: tuple[Server, Path], cache: Path
) -> None:
    server, _ = https_server

    with pytest.raises(DownloadError, match="CERTIFICATE_VERIFY_FAILED"):
        download(f"{server.base}/iris.csv", cache, allowed_networks=LOOPBACK)

    assert server.requests == []
    assert os.listdir(cache) == []


# The classifier's entry point.


def test_classifier_download_refuses_loopback_by_default(server: Server, cache: Path) -> None:
    classifier = IrisClassifier(cache_dir=cache, download_timeout=5.0)

    with pytest.raises(DownloadError, match="loopback"):
        classifier.download(f"{server.base}/iris.csv", DIGEST)

    assert server.requests == []


def test_classifier_download_uses_its_cache_dir_and_size_cap(base: str, cache: Path) -> None:
    path = IrisClassifier(cache_dir=cache, allowed_networks=LOOPBACK).download(
        f"{base}/iris.csv", DIGEST
    )
    with pytest.raises(DownloadError, match="cap"):
        IrisClassifier(cache_dir=cache, download_max_bytes=10, allowed_networks=LOOPBACK).download(
            f"{base}/iris.csv"
        )

    assert path == cache / f"{DIGEST}-iris.csv"
    assert path.read_bytes() == CONTENT


def test_a_url_with_a_very_long_file_name_is_cached_under_a_shortened_one(
    tmp_path: Path, cache: Path
) -> None:
    long_name = tmp_path / ("a" * 240 + ".csv")
    long_name.write_bytes(CONTENT)

    path = download(long_name.as_uri(), cache, allow_file=True)

    assert path.read_bytes() == CONTENT
    assert len(path.name) < 200
    assert [child.name for child in cache.iterdir()] == [path.name]
