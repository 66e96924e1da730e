"""An activation reaches every server process of a multi-process server within a second."""

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from mlapi.serving.database import make_engine
from mlapi.serving.registry import Registry
from mlapi.serving.store import ModelStore
from tests.e2e.conftest import LiveServer, start_server, wait_for_job

WORKERS = 2
ACTIVATIONS = 10
#: Consecutive answers, spread over every process, that must all name the new version.
BATCH = 20
#: The spec's promise: every process serves an activation within a second.
SWITCH_SECONDS = 1.0
ROW = {"data": [[5.1, 3.5, 1.4, 0.2]]}


def _server_process_of(server: LiveServer, client_port: int) -> int:
    """Find which process of the server holds the far end of a client's TCP connection."""
    server_port = int(server.url.rsplit(":", 1)[1])
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        remote_port = int(fields[2].rsplit(":", 1)[1], 16)
        if (local_port, remote_port) == (server_port, client_port):
            inodes.add(f"socket:[{fields[9]}]")
    for pid in server.process_group():
        folder = Path(f"/proc/{pid}/fd")
        try:
            descriptors = list(folder.iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) in inodes:
                    return pid
            except OSError:
                continue
    pytest.fail(f"no server process holds the connection from port {client_port}")


@contextmanager
def _one_connection_per_process(server: LiveServer, processes: int) -> Iterator[list[httpx.Client]]:
    """Open keep-alive connections until each server process holds one of them.

    The processes share one listening socket and the kernel picks which accepts, so
    this opens connections until every process has one and keeps one per process.
    """
    opened: list[httpx.Client] = []
    chosen: dict[int, httpx.Client] = {}
    single = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    try:
        deadline = time.monotonic() + 60
        while len(chosen) < processes:
            if time.monotonic() > deadline:
                pytest.fail(f"only {len(chosen)} of {processes} server processes answered")
            client = server.client(limits=single)
            opened.append(client)
            response = client.get("/v1/health/ready")
            client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
            pid = _server_process_of(server, client_port)
            if response.status_code == 200 and pid not in chosen:
                chosen[pid] = client
            elif response.status_code != 200:
                time.sleep(0.1)  # that process is still loading its model
        yield list(chosen.values())
    finally:
        for client in opened:
            client.close()


def _wait_until_every_process_is_ready(server: LiveServer) -> None:
    """Return once every worker process answers ready (the start-up waits for one only)."""
    with _one_connection_per_process(server, WORKERS):
        pass


def _answered_versions(connections: list[httpx.Client]) -> list[int]:
    versions = []
    for index in range(BATCH):
        response = connections[index % len(connections)].post("/v1/predict", json=ROW)
        assert response.status_code == 200, response.text
        versions.append(response.json()["model_version"])
    return versions


def _switch_moment(connections: list[httpx.Client], version: int) -> float:
    """Poll every process until a whole batch of answers names ``version``; when it began."""
    deadline = time.monotonic() + 10 * SWITCH_SECONDS
    while time.monotonic() < deadline:
        began = time.monotonic()
        if set(_answered_versions(connections)) == {version}:
            return began
    pytest.fail(f"version {version} is not served by every process after {deadline} s")


def test_every_process_serves_an_activation_within_a_second(
    server_factory: Callable[..., LiveServer], database_url: str
) -> None:
    server = server_factory(workers=WORKERS, extra_env={"MLAPI_DATABASE_URL": database_url})
    _wait_until_every_process_is_ready(server)
    with server.client() as client:
        bundled = client.get("/v1/model").json()["version"]
        queued = client.post(
            "/v1/train",
            json={
                "algorithm": "gradient_boosting",
                "hyperparameters": {"n_estimators": 20},
                "activate": False,
            },
        )
        assert queued.status_code == 202
        job = wait_for_job(client, queued.headers["location"])
    assert job["state"] == "succeeded", job
    trained = job["model_version"]
    assert trained > bundled

    delays = []
    with _one_connection_per_process(server, WORKERS) as connections:
        assert set(_answered_versions(connections)) == {bundled}
        for index in range(ACTIVATIONS):
            version = trained if index % 2 == 0 else bundled
            # Each process in turn commits the activation; the others follow by polling.
            response = connections[index % WORKERS].post(f"/v1/models/{version}/activate")
            activated = time.monotonic()
            assert response.status_code == 200, response.text
            assert (response.json()["version"], response.json()["active"]) == (version, True)
            delays.append(_switch_moment(connections, version) - activated)
            # Once every process has switched, none goes back.
            assert set(_answered_versions(connections)) == {version}
    print("seconds until every process served the activation:", [round(d, 3) for d in delays])
    assert max(delays) < SWITCH_SECONDS, [round(delay, 3) for delay in delays]
    follows = server.log.read_text().count("activated by another process (seen by ")
    notified = server.log.read_text().count("activated by another process (seen by notification)")
    assert follows >= ACTIVATIONS  # the other process followed each activation
    if database_url.startswith("postgresql"):
        # Told by PostgreSQL as each activation committed; a poll can win only if it
        # happens to fall between the commit and the notification's arrival.
        assert notified >= ACTIVATIONS // 2, (notified, follows)
    else:
        assert notified == 0  # SQLite has no notifications: every process polls


async def _activate_concurrently(server: LiveServer, versions: list[int], rounds: int) -> None:
    # No keep-alive: each request is a new connection, so both processes take some.
    async with server.async_client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for _ in range(rounds):
            responses = await asyncio.gather(
                *(client.post(f"/v1/models/{version}/activate") for version in versions * 8)
            )
            assert [response.status_code for response in responses] == [200] * len(responses)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with two workers, for this module's tests in their order: memory first."""
    server = start_server(
        tmp_path_factory.mktemp("two-workers"),
        workers=WORKERS,
        # The longest poll, so that a worker serving an old version would be caught at it.
        extra_env={"MLAPI_POLL_INTERVAL": "1"},
    )
    _wait_until_every_process_is_ready(server)
    yield server
    server.stop()


def _memory_kib(pid: int) -> dict[str, int]:
    """A process's memory totals from ``/proc/PID/smaps_rollup``, in KiB, by field."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value)
    return fields


def test_workers_share_the_libraries_and_the_model_loaded_before_the_fork(
    two_workers: LiveServer,
) -> None:
    with two_workers.client() as client:
        for _ in range(20):
            assert client.post("/predict", json=ROW).status_code == 200
    workers = two_workers.children()
    assert len(workers) >= WORKERS
    for pid in workers:
        memory = _memory_kib(pid)
        private = memory["Private_Clean"] + memory["Private_Dirty"]
        # Started by spawn, each worker's memory was nearly all its own (141 of 143 MiB);
        # forked from the supervisor that loaded everything, most of it is shared.
        assert private < memory["Rss"] / 2, (pid, memory)


def test_activation_history_is_in_the_order_activations_took_effect(
    two_workers: LiveServer,
) -> None:
    server = two_workers
    with server.client() as client:
        queued = client.post("/v1/train", json={"algorithm": "decision_tree", "activate": False})
        trained = wait_for_job(client, queued.headers["location"])["model_version"]
    asyncio.run(_activate_concurrently(server, [1, trained], rounds=30))
    engine = make_engine(f"sqlite:///{server.model_dir / 'registry.sqlite3'}")
    try:
        registry = Registry(engine, ModelStore(str(server.model_dir)))
        history = registry.activations()
    finally:
        engine.dispose()
    moments = [activation.activated_at for activation in history]
    assert len(history) == 1 + 30 * 16
    assert moments == sorted(moments)


def test_the_supervisor_replaces_a_killed_worker_with_one_serving_the_active_version(
    two_workers: LiveServer,
) -> None:
    with two_workers.client() as client:
        newest = client.get("/v1/models", params={"limit": 1}).json()["items"][0]["version"]
        if newest == 1:  # run alone: a version other than the supervisor's is needed
            queued = client.post(
                "/v1/train", json={"algorithm": "decision_tree", "activate": False}
            )
            newest = wait_for_job(client, queued.headers["location"])["model_version"]
    with _one_connection_per_process(two_workers, WORKERS) as connections:
        assert connections[0].post(f"/v1/models/{newest}/activate").status_code == 200
        _switch_moment(connections, newest)
    killed = two_workers.children()[0]
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not (len(workers := two_workers.children()) == WORKERS and killed not in workers):
        if time.monotonic() > deadline:
            pytest.fail(f"worker {killed} not replaced: {workers}")
        time.sleep(0.01)
    # The new worker is forked from the supervisor, which loaded version 1 at start-up;
    # it catches up with the registry before it answers.
    with _one_connection_per_process(two_workers, WORKERS) as connections:
        assert set(_answered_versions(connections)) == {newest}
