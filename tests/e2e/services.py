"""Services the tests start beside mlapi: an S3-compatible server (moto) on loopback."""

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import STARTUP_SECONDS, free_port


@contextmanager
def start_s3_server(*, authenticate_after: int | None = None) -> Iterator[str]:
    """Run moto's S3-compatible server on a free 127.0.0.1 port while the block runs.

    It holds nothing at first: each test makes its own bucket.

    Args:
        authenticate_after: Requests moto takes without checking them; every later one
            must be signed with the keys of an IAM user made by then, and be allowed by
            its policies. None: nothing is checked, any keys do.

    Yields:
        The server's endpoint URL, ``http://127.0.0.1:<port>``.
    """
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    if authenticate_after is not None:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(authenticate_after)
    with tempfile.TemporaryDirectory(prefix="mlapi-moto-") as folder:
        log = Path(folder) / "moto.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_answering(endpoint, process, log)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_answering(endpoint: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"moto server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{endpoint}/moto-api/", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"moto server not answering in {STARTUP_SECONDS} s:\n{log.read_text()}")
