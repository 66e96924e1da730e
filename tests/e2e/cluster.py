"""A real Dask cluster on loopback: a scheduler and two workers, each its own process.

The workers run under nannies, as ``dask worker`` does by default: a worker killed
mid-task is restarted by its nanny, and the scheduler re-runs its task elsewhere, as on
a real cluster.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from distributed import Client

from tests.e2e.conftest import free_port

#: Safety net for the scheduler and workers to start (importing scikit-learn included).
START_SECONDS = 60


@dataclass
class DaskCluster:
    """A running scheduler and its workers."""

    address: str
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def client(self) -> Client:
        """A synchronous client of the scheduler, for a test to look at the cluster."""
        return Client(self.address, timeout=START_SECONDS, set_as_default=False)

    def wait_for_workers(self, count: int) -> None:
        """Wait until ``count`` workers are connected (a killed one restarted, say)."""
        with self.client() as client:
            client.wait_for_workers(count, timeout=START_SECONDS)

    def kill_worker_running(self, key: str) -> int:
        """SIGKILL the worker process running task ``key``, and say its process id."""
        with self.client() as client:
            deadline = time.monotonic() + START_SECONDS
            while True:
                processing = client.processing()
                holder = next((w for w, keys in processing.items() if key in keys), None)
                if holder is not None:
                    break
                assert time.monotonic() < deadline, f"no worker runs {key}: {processing}"
                time.sleep(0.05)
            pid = int(client.run(os.getpid, workers=[holder])[holder])
        os.kill(pid, signal.SIGKILL)
        return pid

    def log(self) -> str:
        """Everything the scheduler and the workers logged, for a failing test's message."""
        return "\n".join(path.read_text() for path in sorted(self.folder.glob("*.log")))

    def stop(self) -> None:
        """Stop the workers, then the scheduler, with everything they started."""
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _start(folder: Path, name: str, arguments: list[str]) -> subprocess.Popen[bytes]:
    with (folder / f"{name}.log").open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", *arguments],
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stop() ends a nanny with the worker it started
        )


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[DaskCluster]:
    """Start a scheduler and ``workers`` single-threaded workers on 127.0.0.1.

    Each worker has one process and one thread, so a job holds a whole worker, and no
    dashboard (nothing listens but the scheduler and the workers).
    """
    port = free_port()
    cluster = DaskCluster(address=f"tcp://127.0.0.1:{port}", folder=folder)
    try:
        cluster.processes.append(
            _start(
                folder,
                "scheduler",
                [
                    "distributed.cli.dask_scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-dashboard",
                ],
            )
        )
        for number in range(workers):
            cluster.processes.append(
                _start(
                    folder,
                    f"worker{number}",
                    [
                        "distributed.cli.dask_worker",
                        cluster.address,
                        "--host",
                        "127.0.0.1",
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--local-directory",
                        str(folder / f"worker{number}"),
                        "--name",
                        f"worker{number}",
                    ],
                )
            )
        try:
            cluster.wait_for_workers(workers)
        except Exception as error:
            pytest.fail(f"the Dask cluster did not start: {error}\n{cluster.log()}")
        yield cluster
    finally:
        cluster.stop()
