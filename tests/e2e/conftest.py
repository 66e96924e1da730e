"""A real ``mlapi serve`` subprocess on a free 127.0.0.1 port, over HTTP or HTTPS."""

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trustme

if TYPE_CHECKING:
    from playwright.sync_api import Browser

STARTUP_SECONDS = 60


def free_port() -> int:
    """Ask the kernel for a free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Certificates:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost."""

    ca: trustme.CA
    keyfile: Path
    certfile: Path
    ca_file: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only the throwaway CA."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


@dataclass
class LiveServer:
    """A running server subprocess."""

    url: str
    process: subprocess.Popen[bytes]
    model_dir: Path
    log: Path
    verify: ssl.SSLContext | bool = True
    env: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None
    options: dict[str, object] = field(default_factory=dict)

    def client(self, **options: object) -> httpx.Client:
        """An HTTP client for this server."""
        return httpx.Client(base_url=self.url, verify=self.verify, timeout=30, **options)  # type: ignore[arg-type]

    def async_client(self, **options: object) -> httpx.AsyncClient:
        """An async HTTP client for this server."""
        return httpx.AsyncClient(base_url=self.url, verify=self.verify, timeout=60, **options)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop the server, killing it if it does not stop in time.

        Whatever the server leaves behind in its process group (training processes still
        running) is killed too.
        """
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._kill_group()

    def kill(self) -> None:
        """SIGKILL the server and every process it started (workers, training processes)."""
        self._kill_group()
        self.process.wait()

    def _kill_group(self) -> None:
        # The server leads its own session and process group (start_new_session=True).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def process_group(self) -> list[int]:
        """The ids of the live processes in the server's process group."""
        return self._processes(lambda ppid, pgrp: pgrp == self.process.pid)

    def children(self) -> list[int]:
        """The ids of the server's live child processes (its workers, when it has several)."""
        return self._processes(lambda ppid, pgrp: ppid == self.process.pid)

    def _processes(self, chosen: Callable[[int, int], bool]) -> list[int]:
        members = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Fields after the command name, which is in parentheses and may hold spaces.
            fields = stat.rsplit(")", 1)[1].split()
            if chosen(int(fields[1]), int(fields[2])) and fields[0] != "Z":
                members.append(int(entry.name))
        return members


def start_server(
    folder: Path,
    *,
    certificates: Certificates | None = None,
    command: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
    workers: int | None = None,
) -> LiveServer:
    """Start ``mlapi serve`` (or ``command``) and wait until it is ready.

    The server leads a new process group, so :meth:`LiveServer.kill` can SIGKILL it with
    everything it started. Starting again on the same folder restarts on the same model
    store and registry; the log is appended to.

    Args:
        folder: Private folder for models, cache and the server log.
        certificates: Serve HTTPS with these; plain HTTP if None.
        command: Arguments after ``python -m``; ``mlapi serve ...`` by default.
        extra_env: More environment variables for the server.
        workers: Server worker processes (``--workers``); the configured number if None.
    """
    options: dict[str, object] = {
        "certificates": certificates,
        "command": command,
        "extra_env": extra_env,
        "workers": workers,
    }
    port = free_port()
    scheme = "https" if certificates else "http"
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")},
        "MLAPI_MODEL_DIR": str(folder / "models"),
        "MLAPI_CACHE_DIR": str(folder / "cache"),
        # As `make run`: keyless model changes; tests of keys configure their own.
        "MLAPI_DEV_MODE": "true",
        **(extra_env or {}),
    }
    if command is None:
        command = ["mlapi", "serve", "--host", "127.0.0.1", "--port", str(port)]
        if certificates:
            command += [
                "--ssl-keyfile",
                str(certificates.keyfile),
                "--ssl-certfile",
                str(certificates.certfile),
            ]
        if workers is not None:
            command += ["--workers", str(workers)]
    else:
        command = [part.replace("{port}", str(port)) for part in command]
    log = folder / "server.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LiveServer(
        url=f"{scheme}://127.0.0.1:{port}",
        process=process,
        model_dir=folder / "models",
        log=log,
        verify=certificates.client_context() if certificates else True,
        env=env,
        folder=folder,
        options=options,
    )
    wait_until_ready(server)
    return server


def wait_for_job(client: httpx.Client, location: str, timeout: float = 120) -> dict[str, Any]:
    """Poll a training job until it has succeeded or failed, and return it.

    Args:
        client: A client of the server that queued the job.
        location: The job's URL path, as ``POST /v1/train`` answered in ``Location``.
        timeout: Seconds to wait at most.
    """
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(location).json()
        if job["state"] in {"succeeded", "failed", "cancelled"}:
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"training job still {job['state']} after {timeout} s: {job}")
        time.sleep(0.05)


def wait_until_ready(server: LiveServer) -> None:
    """Poll the readiness probe until it answers 200, or fail with the server's log."""
    deadline = time.monotonic() + STARTUP_SECONDS
    with server.client() as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                pytest.fail(f"server exited early:\n{server.log.read_text()}")
            try:
                if client.get("/v1/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    server.stop()
    pytest.fail(f"server not ready in {STARTUP_SECONDS} s:\n{server.log.read_text()}")


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A CA and a server certificate made for this test run."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server_certificate = ca.issue_cert("127.0.0.1", "localhost")
    keyfile, certfile, ca_file = folder / "key.pem", folder / "cert.pem", folder / "ca.pem"
    server_certificate.private_key_pem.write_to_path(str(keyfile))
    server_certificate.cert_chain_pems[0].write_to_path(str(certfile))
    for extra in server_certificate.cert_chain_pems[1:]:
        with certfile.open("ab") as handle:
            handle.write(extra.bytes())
    ca.cert_pem.write_to_path(str(ca_file))
    return Certificates(ca, keyfile, certfile, ca_file)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers on demand; each is stopped when the test ends.

    ``server_factory(same_as=server, **options)`` starts again on ``server``'s folder
    (its model store, registry and log) with its options, ``options`` overriding them.
    """
    started: list[LiveServer] = []

    def start(same_as: LiveServer | None = None, **options: object) -> LiveServer:
        if same_as is not None and same_as.folder is not None:
            folder = same_as.folder
            options = {**same_as.options, **options}
        else:
            folder = tmp_path / f"server{len(started)}"
            folder.mkdir()
        server = start_server(folder, **options)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(server_factory: Callable[..., LiveServer]) -> LiveServer:
    """A plain-HTTP server private to the test."""
    return server_factory()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One plain-HTTP server for a whole module of read-only tests."""
    server = start_server(tmp_path_factory.mktemp("shared-server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator["Browser"]:
    """Headless Chromium for a module's tests (see :mod:`tests.e2e.browsing`).

    Module-scoped, not session-scoped: Playwright's synchronous API keeps an event loop
    running in the thread while it is open, and later modules' ``asyncio.run`` would fail.
    """
    from tests.e2e.browsing import launched  # Playwright only where a test uses it

    with launched() as chromium:
        yield chromium
