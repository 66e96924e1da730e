"""How long after an activation every replica serves the new version.

Starts two ``mlapi serve`` replicas (one worker each) on loopback ports, sharing one
registry and one model store, trains a second version through replica A, then
activates the two versions in turn, alternating the replica that activates. After each
activation answers, both replicas' ``GET /v1/model`` are polled back to back until both
name the new version; the time from the activation's answer to that moment is the
delay. The activating replica serves it before it answers, so the delay is the other
replica's.

Registries compared side by side in one run, interleaved round by round:

- ``postgresql``: a PostgreSQL server (``scripts/with-postgres.sh`` starts a throwaway
  one; run this script through it), where activations are notified (LISTEN/NOTIFY) and
  polled every ``MLAPI_POLL_INTERVAL`` seconds underneath;
- ``postgresql-slow-poll``: the same with the longest poll interval (1 s), so that only
  the notification makes the delay short;
- ``postgresql-s3``: as ``postgresql``, with the model files in a bucket of an
  S3-compatible server on loopback (moto's server mode, started here) rather than a
  shared folder: a replica reads a version from the store the first time it serves it,
  and from its own checked cache after that;
- ``sqlite``: one SQLite file on a shared folder, polled every 0.25 s (no notifications).

Usage::

    scripts/with-postgres.sh .venv/bin/python -m benchmarks.replicas --activations 20
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, make_url, text

from benchmarks.run import free_port

SETUPS = ("postgresql", "postgresql-slow-poll", "postgresql-s3", "sqlite")


def _wait_answering(url: str, process: subprocess.Popen[bytes], name: str, log: str) -> None:
    """Wait until ``url`` answers 200; stop the benchmark if ``process`` exits or 120 s pass."""
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{name} did not start; see {log}")
        time.sleep(0.1)


@contextmanager
def _s3_store(folder: Path) -> Iterator[dict[str, str]]:
    """Run moto's S3 server on a free port with one bucket; yield the replicas' settings."""
    import botocore.session  # the s3 extra's, only for this setup

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = (folder / "moto.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_answering(f"{endpoint}/moto-api/", process, "moto", log.name)
        keys = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret"}
        client = botocore.session.get_session().create_client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", **keys
        )
        client.create_bucket(Bucket="mlapi-bench")
        yield {
            "MLAPI_MODEL_DIR": "s3://mlapi-bench/models",
            "MLAPI_S3_ENDPOINT_URL": endpoint,
            "MLAPI_S3_ACCESS_KEY_ID": keys["aws_access_key_id"],
            "MLAPI_S3_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
            "MLAPI_S3_REGION": "us-east-1",
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@contextmanager
def _replica(folder: Path, env: dict[str, str]) -> Iterator[str]:
    """Start a replica on a free port; yield its URL once ready."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / f"replica-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlapi", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_answering(f"{url}/v1/health/ready", process, f"replica on {port}", log.name)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _database(setup: str, folder: Path) -> str:
    if setup == "sqlite":
        return f"sqlite:///{folder / 'registry.sqlite3'}"
    base = os.environ.get("PYTEST_POSTGRES_URL")
    if not base:
        raise SystemExit("run through scripts/with-postgres.sh (PYTEST_POSTGRES_URL is unset)")
    name = f"mlapi_bench_{setup.replace('-', '_')}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


@contextmanager
def _pair(setup: str, root: Path) -> Iterator[tuple[httpx.Client, httpx.Client, list[int]]]:
    """Two replicas of ``setup`` sharing a registry, with two versions registered."""
    folder = root / setup
    folder.mkdir()
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")},
        "MLAPI_DEV_MODE": "true",
        "MLAPI_ACCESS_LOG": "false",
        "MLAPI_MODEL_DIR": str(folder / "models"),
        "MLAPI_CACHE_DIR": str(folder / "cache"),
        "MLAPI_DATABASE_URL": _database(setup, folder),
        "MLAPI_POLL_INTERVAL": "1" if setup.endswith("slow-poll") else "0.25",
    }
    with ExitStack() as stack:
        if setup.endswith("-s3"):
            env |= stack.enter_context(_s3_store(folder))
        first = stack.enter_context(_replica(folder, env))
        second = stack.enter_context(_replica(folder, env))
        a = stack.enter_context(httpx.Client(base_url=first, timeout=60))
        b = stack.enter_context(httpx.Client(base_url=second, timeout=60))
        queued = a.post("/v1/train", json={"hyperparameters": {"max_depth": 2}, "activate": False})
        location = queued.headers["location"]
        while (job := a.get(location).json())["state"] not in {"succeeded", "failed"}:
            time.sleep(0.05)
        if job["state"] != "succeeded":
            raise SystemExit(f"training failed: {job}")
        yield a, b, [1, job["model_version"]]


def _delay(activating: httpx.Client, replicas: list[httpx.Client], version: int) -> float:
    answer = activating.post(f"/v1/models/{version}/activate")
    answered = time.perf_counter()
    if answer.status_code != 200:
        raise SystemExit(f"activation failed: {answer.text}")
    pending = list(replicas)
    while pending:
        pending = [each for each in pending if each.get("/v1/model").json()["version"] != version]
        if time.perf_counter() - answered > 30:
            raise SystemExit(f"version {version} not served by every replica after 30 s")
    return time.perf_counter() - answered


def main() -> None:
    """Measure, print a Markdown table of medians and maxima, in milliseconds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activations", type=int, default=20, help="per setup, in all")
    parser.add_argument("--rounds", type=int, default=4, help="interleavings of the setups")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    options = parser.parse_args()
    delays: dict[str, list[float]] = {setup: [] for setup in options.setups}
    with tempfile.TemporaryDirectory(prefix="mlapi-replicas-") as root, ExitStack() as stack:
        pairs = {setup: stack.enter_context(_pair(setup, Path(root))) for setup in options.setups}
        per_round = max(1, options.activations // options.rounds)
        for _ in range(options.rounds):
            for setup, (a, b, versions) in pairs.items():
                for index in range(per_round):
                    activating = a if index % 2 == 0 else b
                    version = versions[(len(delays[setup]) + 1) % 2]
                    delays[setup].append(_delay(activating, [a, b], version))
    print("| registry | activations | median ms | p90 ms | max ms |")
    print("| --- | --- | --- | --- | --- |")
    for setup, values in delays.items():
        ms = sorted(1000 * value for value in values)
        p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
        print(f"| {setup} | {len(ms)} | {statistics.median(ms):.1f} | {p90:.1f} | {max(ms):.1f} |")


if __name__ == "__main__":
    main()
