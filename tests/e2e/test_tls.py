"""HTTPS with certificates made in the test: TLS 1.2+ only, no code change needed."""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Certificates, LiveServer, free_port

SETOSA = {"data": [[5.1, 3.5, 1.4, 0.2]]}

# The tests make TLS 1.0 and 1.1 clients on purpose, to prove the server refuses them.
pytestmark = [
    pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning"),
]


def _handshake(url: str, context: ssl.SSLContext) -> str:
    host, port = url.removeprefix("https://").split(":")
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return str(tls.version())


def _legacy_client(certificates: Certificates, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    certificates.ca.configure_trust(context)
    context.minimum_version = version
    context.maximum_version = version
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


@pytest.fixture(scope="module", params=[1, 2], ids=["one-worker", "two-workers"])
def tls_server(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    certificates: Certificates,
):
    """The server with one worker, and with two forked by the supervisor of several workers."""
    from tests.e2e.conftest import start_server

    server = start_server(
        tmp_path_factory.mktemp("tls-server"), certificates=certificates, workers=request.param
    )
    yield server
    server.stop()


def test_predict_over_https(tls_server: LiveServer) -> None:
    with tls_server.client() as client:
        response = client.post("/predict", json=SETOSA)
    assert response.content == b'{"prediction":[0],"probability":[[1.0,0.0,0.0]]}'


def test_https_refuses_clients_that_do_not_trust_the_certificate(tls_server: LiveServer) -> None:
    with pytest.raises(httpx.ConnectError), httpx.Client(verify=True) as client:
        client.get(f"{tls_server.url}/v1/health/live")


def test_plain_http_to_the_https_port_gets_no_answer(tls_server: LiveServer) -> None:
    plain = tls_server.url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError), httpx.Client(timeout=5) as client:
        client.get(f"{plain}/v1/health/live")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_modern_tls_versions_are_accepted(
    tls_server: LiveServer, certificates: Certificates, version: ssl.TLSVersion
) -> None:
    context = certificates.client_context()
    context.minimum_version = context.maximum_version = version
    assert _handshake(tls_server.url, context) == version.name.replace("_", ".")


def _permissive_server(certificates: Certificates) -> tuple[int, threading.Thread]:
    """A bare TLS server that takes any version and cipher, to prove what a client speaks."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.certfile, certificates.keyfile)
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:@SECLEVEL=0")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_once() -> None:
        with listener:
            connection, _ = listener.accept()
            try:
                with context.wrap_socket(connection, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    return port, thread


def _require_client_speaks(certificates: Certificates, context: ssl.SSLContext) -> None:
    """Skip unless ``context`` completes a handshake with a server that accepts anything.

    So a refusal by mlapi's server is the server's doing, not the client's.
    """
    port, thread = _permissive_server(certificates)
    try:
        _handshake(f"https://127.0.0.1:{port}", context)
    except ssl.SSLError as error:
        pytest.skip(f"this OpenSSL build cannot make that handshake at all: {error}")
    finally:
        thread.join(timeout=10)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls_1_0_and_1_1_handshakes_are_refused(
    tls_server: LiveServer, certificates: Certificates, version: ssl.TLSVersion
) -> None:
    legacy = _legacy_client(certificates, version)
    _require_client_speaks(certificates, legacy)
    with pytest.raises(ssl.SSLError):
        _handshake(tls_server.url, legacy)
    # The same client, allowed TLS 1.2, gets in.
    legacy.maximum_version = ssl.TLSVersion.TLSv1_2
    assert _handshake(tls_server.url, legacy) == "TLSv1.2"


@pytest.mark.parametrize("mac", ["SHA", "SHA256"], ids=["cbc-sha1", "cbc-sha256"])
def test_tls_1_2_cbc_ciphers_are_refused(
    tls_server: LiveServer, certificates: Certificates, mac: str
) -> None:
    # CBC, not AEAD: Python's default list still takes it with SHA-256, and uvicorn's
    # command-line default ("TLSv1") with SHA-1 too.
    weak = _legacy_client(certificates, ssl.TLSVersion.TLSv1_2)
    weak.set_ciphers(f"ECDHE-ECDSA-AES128-{mac}:ECDHE-RSA-AES128-{mac}:@SECLEVEL=0")
    _require_client_speaks(certificates, weak)
    with pytest.raises(ssl.SSLError):
        _handshake(tls_server.url, weak)


def test_tls_1_2_uses_an_aead_suite_with_forward_secrecy(
    tls_server: LiveServer, certificates: Certificates
) -> None:
    # A client that offers everything gets one of the modern suites, chosen by the server.
    client = _legacy_client(certificates, ssl.TLSVersion.TLSv1_2)
    host, port = tls_server.url.removeprefix("https://").split(":")
    with (
        socket.create_connection((host, int(port)), timeout=10) as raw,
        client.wrap_socket(raw, server_hostname=host) as tls,
    ):
        cipher = tls.cipher()
    assert cipher is not None
    assert cipher[0].startswith("ECDHE-")
    assert "GCM" in cipher[0] or "CHACHA20" in cipher[0]


def test_https_answers_carry_strict_transport_security(tls_server: LiveServer) -> None:
    with tls_server.client() as client:
        answers = [
            client.post("/predict", json=SETOSA),  # the quick way
            client.post("/predict", json={"data": [[1]]}),  # a problem from the route
            client.get("/v1/health/live"),
        ]
    for answer in answers:
        assert answer.headers["strict-transport-security"] == (
            "max-age=31536000; includeSubDomains"
        )


def _refused_start(folder: Path, **settings: str) -> str:
    """Run ``mlapi serve`` with these ``MLAPI_*`` settings, expect it to refuse to start.

    Returns:
        What it printed on stderr.
    """
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")}
    env.update(settings, MLAPI_MODEL_DIR=str(folder / "models"))
    completed = subprocess.run(
        [sys.executable, "-m", "mlapi", "serve", "--port", str(free_port())],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    return completed.stderr


def test_serve_refuses_to_start_without_tls_when_required(tmp_path: Path) -> None:
    stderr = _refused_start(tmp_path, MLAPI_REQUIRE_TLS="true")
    assert "TLS is required (MLAPI_REQUIRE_TLS)" in stderr
    assert "MLAPI_SSL_KEYFILE" in stderr
    assert not (tmp_path / "models").exists()  # refused before anything started


def test_serve_takes_key_and_certificate_mounted_in_the_tls_folder(
    server_factory: Callable[..., LiveServer], certificates: Certificates, tmp_path: Path
) -> None:
    mounted = tmp_path / "tls"
    mounted.mkdir()
    shutil.copy(certificates.keyfile, mounted / "tls.key")
    shutil.copy(certificates.certfile, mounted / "tls.crt")
    server = server_factory(
        certificates=certificates,  # the client's trust; the server finds its own files
        command=["mlapi", "serve", "--host", "127.0.0.1", "--port", "{port}"],
        extra_env={"MLAPI_TLS_DIR": str(mounted)},
    )
    with server.client() as client:
        assert client.post("/predict", json=SETOSA).json()["prediction"] == [0]
    legacy = _legacy_client(certificates, ssl.TLSVersion.TLSv1_1)
    with pytest.raises(ssl.SSLError):
        _handshake(server.url, legacy)


def test_serve_refuses_to_start_with_a_tls_folder_lacking_the_certificate(
    tmp_path: Path, certificates: Certificates
) -> None:
    mounted = tmp_path / "tls"
    mounted.mkdir()
    shutil.copy(certificates.keyfile, mounted / "tls.key")

    assert "lacks tls.crt" in _refused_start(tmp_path, MLAPI_TLS_DIR=str(mounted))


def test_article_uvicorn_command_serves_https_without_code_change(
    server_factory: Callable[..., LiveServer], certificates: Certificates
) -> None:
    server = server_factory(
        certificates=certificates,
        command=[
            "uvicorn",
            "mlapi.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            f"--ssl-keyfile={certificates.keyfile}",
            f"--ssl-certfile={certificates.certfile}",
        ],
    )
    with server.client() as client:
        assert client.post("/predict", json=SETOSA).json()["prediction"] == [0]
    legacy = _legacy_client(certificates, ssl.TLSVersion.TLSv1_1)
    with pytest.raises(ssl.SSLError):
        _handshake(server.url, legacy)
