"""HTTPS with certificates made in the test: TLS 1.2+ only, no code change needed."""

import socket
import ssl
import threading
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.conftest import Certificates, LiveServer

SETOSA = {"data": [[5.1, 3.5, 1.4, 0.2]]}

# The tests make TLS 1.1 clients on purpose, to prove the server refuses them.
pytestmark = pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1:DeprecationWarning")


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
    """A bare TLS server that accepts TLS 1.1, to prove the client can speak it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.certfile, certificates.keyfile)
    context.minimum_version = ssl.TLSVersion.TLSv1_1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
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


def test_tls_1_1_handshake_is_refused(tls_server: LiveServer, certificates: Certificates) -> None:
    legacy = _legacy_client(certificates, ssl.TLSVersion.TLSv1_1)
    port, thread = _permissive_server(certificates)
    try:
        capable = _handshake(f"https://127.0.0.1:{port}", legacy) == "TLSv1.1"
    except ssl.SSLError:
        capable = False
    thread.join(timeout=10)
    if not capable:
        pytest.skip("this OpenSSL build cannot speak TLS 1.1 even to a willing server")
    with pytest.raises(ssl.SSLError):
        _handshake(tls_server.url, legacy)


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
