"""Side-by-side load test of ``POST /predict``: mlapi, the article's app and FastAPI's ceiling.

For each algorithm (the bundled decision tree, and gradient boosting trained with the
catalogue's defaults) the article's app and mlapi serve the same model; FastAPI answering
a constant is the framework's ceiling. Each server runs alone pinned to core 0
(taskset), wrk on core 1 with one thread, a warm-up, then a measured window:

- single rows at 1, 16 and 64 connections;
- 1,000-row and 100,000-row requests at one connection, against mlapi's own path measured
  in this process in the same round (orjson parse, numpy check, model, orjson answer);
- the resident memory of each server process after its load.

The servers take turns, round after round, so machine noise hits all of them alike; the
table reports medians and ratios. Usage: ``python benchmarks/run.py [--rounds 3]``.
``--against REV`` adds mlapi as it was at a git revision (a scratch worktree on the same
packages), so a change to the request path is measured against what it replaces.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BODY = b'{"data": [[5.1, 3.5, 1.4, 0.2]]}'
ALGORITHMS = ("decision_tree", "gradient_boosting")
ARTICLE, MLAPI, CEILING = "article app", "mlapi", "FastAPI constant"
LARGE = {"1,000 rows": 1_000, "100,000 rows": 100_000}
#: mlapi's limits raised for the large requests (the defaults refuse 100,000 rows).
LIMITS = {"MLAPI_MAX_ROWS_PER_REQUEST": "100000", "MLAPI_MAX_BODY_BYTES": str(64 * 1024**2)}


def ensure_wrk() -> str:
    """Return wrk's path, installing the Debian package if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package)...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def free_port() -> int:
    """Ask the kernel for a free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A server to start: its ASGI app, environment and (for ``--against``) source tree."""

    name: str
    algorithm: str | None
    app: str
    env: dict[str, str] = field(default_factory=dict)
    source: Path | None = None

    @property
    def key(self) -> str:
        return f"{self.name} ({self.algorithm})" if self.algorithm else self.name


def start(server: Server, port: int, folder: Path) -> subprocess.Popen[bytes]:
    """Start a server pinned to core 0 and wait until it answers a prediction."""
    path = os.pathsep.join(str(entry) for entry in (server.source, HERE.parent) if entry)
    env = {**os.environ, "MLAPI_MODEL_DIR": str(folder / "models"), "PYTHONPATH": path}
    env.update(server.env)
    command = ["taskset", "-c", "0", sys.executable, "-m", "uvicorn", server.app]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(command, env=env, cwd=folder)
    deadline = time.monotonic() + 60
    url = f"http://127.0.0.1:{port}/predict"
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, BODY, {"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    time.sleep(1)  # let start-up work (a training process's imports) settle
                    return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{server.key} did not start")


def load(
    wrk: str,
    port: int,
    connections: int,
    seconds: int,
    body: Path | None = None,
    path: str = "/predict",
) -> dict:
    """Run wrk on core 1, POSTing JSON to ``path``: one Iris row, or the file ``body``.

    Returns:
        Requests a second, median and p99 latency (ms), and the count of non-2xx answers.
    """
    script = HERE / ("post_file.lua" if body else "post.lua")
    command = ["taskset", "-c", "1", wrk, "-t1", f"-c{connections}", f"-d{seconds}s"]
    command += ["--latency", "--timeout", "30s", "-s", str(script)]
    command += [f"http://127.0.0.1:{port}{path}"]
    env = {**os.environ, "BODY_FILE": str(body)} if body else None
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def percentile(label: str) -> float:
        found = re.search(label + r"%\s+([\d.]+)(us|ms|s)\b", output)
        return float(found.group(1)) * scale[found.group(2)] if found else float("nan")

    return {
        "rps": rate,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def resident_mib(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def large_body(rows: int) -> bytes:
    """A request of ``rows`` distinct rows over the Iris measurements' ranges."""
    generator = np.random.default_rng(rows)
    low, high = np.array([4.3, 2.0, 1.0, 0.1]), np.array([7.9, 4.4, 6.9, 2.5])
    matrix = np.round(generator.uniform(low, high, size=(rows, 4)), 2)
    return json.dumps({"data": matrix.tolist()}).encode()


def in_process_ms(model_file: Path, body: bytes, repeat: int = 5) -> float:
    """Median time of mlapi's own work on a body, without HTTP, on core 0 like the servers."""
    code = (
        "import sys, time, statistics, orjson\n"
        "from mlapi.ml import IrisClassifier\n"
        "from mlapi.api.quick import parse_rows\n"
        "from threadpoolctl import threadpool_limits\n"
        "model = IrisClassifier.load(sys.argv[1])\n"
        "body = open(sys.argv[2], 'rb').read()\n"
        "keys = frozenset({'data'})\n"
        "times = []\n"
        "with threadpool_limits(1):\n"
        f"    for _ in range({repeat}):\n"
        "        start = time.perf_counter()\n"
        "        matrix, _ = parse_rows(body, keys)\n"
        "        probability, prediction = model.predict_arrays(matrix)\n"
        "        orjson.dumps({'prediction': prediction, 'probability': probability},\n"
        "                     option=orjson.OPT_SERIALIZE_NUMPY)\n"
        "        times.append(time.perf_counter() - start)\n"
        "print(statistics.median(times) * 1000)\n"
    )
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        file.write(body)
        file.flush()
        command = ["taskset", "-c", "0", sys.executable, "-c", code, str(model_file), file.name]
        env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
        output = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return float(output.stdout.strip())


def prepare_models(scratch: Path) -> dict[str, tuple[Path, Path]]:
    """Each algorithm's model file, and a model folder where mlapi serves it.

    The decision tree is the bundled model (an empty folder serves it); gradient boosting
    is trained here with the catalogue's defaults, and activated in its folder.
    """
    from mlapi.ml.persistence import bundled_model_bytes, sha256_hex

    folder = scratch / "gradient_boosting"
    mlapi = Path(sys.executable).with_name("mlapi")
    command = [str(mlapi), "train", "--algorithm", "gradient_boosting", "--wait"]
    env = {**os.environ, "MLAPI_MODEL_DIR": str(folder)}
    subprocess.run(command, check=True, env=env, capture_output=True)
    bundled = scratch / "decision_tree.skops"
    bundled.write_bytes(bundled_model_bytes())
    (trained,) = [
        path
        for path in (folder / "versions").glob("*.skops")
        if path.stem != sha256_hex(bundled.read_bytes())
    ]
    return {
        "decision_tree": (bundled, scratch / "decision_tree"),
        "gradient_boosting": (trained, folder),
    }


def servers_for(
    models: dict[str, tuple[Path, Path]],
    against: Path | None,
    label: str | None,
    algorithms: list[str] | None = None,
) -> list[Server]:
    """Every server of a round: the article's app and mlapi per algorithm, then the ceiling."""
    servers = []
    for algorithm, (model, folder) in models.items():
        if algorithms and algorithm not in algorithms:
            continue
        servers.append(
            Server(ARTICLE, algorithm, "benchmarks.seed_app:app", {"BENCH_MODEL": str(model)})
        )
        env = {**LIMITS, "MLAPI_MODEL_DIR": str(folder)}
        # No access log, as uvicorn's --no-access-log gave before mlapi wrote its own (an
        # older revision knows no such setting, and refuses a variable it does not know).
        quiet = {"MLAPI_ACCESS_LOG": "false"}
        servers.append(Server(MLAPI, algorithm, "mlapi.main:app", {**env, **quiet}))
        if against is not None:
            # A folder of its own: an older revision may not know the registry's schema.
            own = {**env, "MLAPI_MODEL_DIR": f"{folder}-against"}
            if (against / "src" / "mlapi" / "observability.py").exists():  # it knows
                own.update(quiet)
            servers.append(
                Server(f"mlapi @ {label}", algorithm, "mlapi.main:app", own, against / "src")
            )
    servers.append(Server(CEILING, None, "benchmarks.ceiling_app:app"))
    return servers


def main() -> None:
    """Run the rounds and write the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--no-large", action="store_true", help="single rows only")
    parser.add_argument("--against", metavar="REV", help="also run mlapi as of this revision")
    parser.add_argument(
        "--algorithms",
        nargs="+",
        choices=["decision_tree", "gradient_boosting"],
        help="only these (with --against a revision older than the registry's schema, "
        "decision_tree: its server starts on an empty folder of its own)",
    )
    options = parser.parse_args()
    wrk = ensure_wrk()
    samples: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        models = prepare_models(scratch)
        bodies = {}
        if not options.no_large:
            for name, rows in LARGE.items():
                bodies[name] = scratch / f"{rows}.json"
                bodies[name].write_bytes(large_body(rows))
        tree = None
        git = ["git", "-C", str(HERE.parent)]
        if options.against:
            tree = scratch / "against"
            subprocess.run(
                [*git, "worktree", "add", "--detach", str(tree), options.against], check=True
            )
        try:
            servers = servers_for(models, tree, options.against, options.algorithms)
            for number in range(options.rounds):
                run_round(wrk, servers, options, bodies, models, samples, scratch / str(number))
        finally:
            if tree is not None:
                subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)
        report(servers, options, bodies, samples)


def run_round(
    wrk: str,
    servers: list[Server],
    options: argparse.Namespace,
    bodies: dict[str, Path],
    models: dict[str, tuple[Path, Path]],
    samples: dict[str, list[dict]],
    scratch: Path,
) -> None:
    """Start each server in turn and put it through every load of the round."""
    for server in servers:
        port = free_port()
        process = start(server, port, scratch / re.sub(r"\W+", "_", server.key))
        try:
            for connections in options.connections:
                load(wrk, port, connections, 2)  # warm-up
                record(
                    samples,
                    server.key,
                    f"c={connections}",
                    load(wrk, port, connections, options.seconds),
                )
            if server.algorithm is not None:
                for name, body in bodies.items():
                    load(wrk, port, 1, 2, body)
                    record(samples, server.key, name, load(wrk, port, 1, options.seconds, body))
            samples.setdefault(f"{server.key}|rss", []).append({"mib": resident_mib(process.pid)})
        finally:
            process.terminate()
            process.wait()
    for algorithm, (model, _) in models.items():
        for name, body in bodies.items():
            took = in_process_ms(model, body.read_bytes())
            record(samples, f"in-process ({algorithm})", name, {"ms": took})


def record(samples: dict[str, list[dict]], server: str, load_name: str, sample: dict) -> None:
    """Keep a sample and print it."""
    samples.setdefault(f"{server}|{load_name}", []).append(sample)
    print(f"{server:<40} {load_name:<14} {sample}", flush=True)


def _median(samples: dict[str, list[dict]], key: str, value: str) -> float:
    return statistics.median(sample[value] for sample in samples[key])


def report(
    servers: list[Server],
    options: argparse.Namespace,
    bodies: dict[str, Path],
    samples: dict[str, list[dict]],
) -> None:
    """Print the tables and keep them, with the raw samples, in ``benchmarks/results/``."""
    lines = [
        "| algorithm | load | server | median req/s | p50 ms | p99 ms | vs article | vs ceiling |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for algorithm in ALGORITHMS:
        for load_name in [f"c={c}" for c in options.connections] + list(bodies):
            if f"{ARTICLE} ({algorithm})|{load_name}" not in samples:
                continue  # an algorithm left out with --algorithms
            article = _median(samples, f"{ARTICLE} ({algorithm})|{load_name}", "rps")
            ceiling_key = f"{CEILING}|{load_name}"
            ceiling = _median(samples, ceiling_key, "rps") if ceiling_key in samples else None
            for server in [s for s in servers if s.algorithm in (algorithm, None)]:
                key = f"{server.key}|{load_name}"
                if key not in samples:
                    continue
                rps = _median(samples, key, "rps")
                versus = f"{rps / ceiling:.2f}x" if ceiling else "-"
                p50, p99 = _median(samples, key, "p50_ms"), _median(samples, key, "p99_ms")
                lines.append(
                    f"| {algorithm} | {load_name} | {server.name} | {rps:,.1f} | {p50:.2f} | "
                    f"{p99:.2f} | {rps / article:.2f}x | {versus} |"
                )
    large = ["", "| algorithm | request | mlapi p50 ms | in-process ms | ratio |"]
    large.append("| --- | --- | --- | --- | --- |")
    for algorithm in ALGORITHMS:
        for name in bodies:
            served = _median(samples, f"{MLAPI} ({algorithm})|{name}", "p50_ms")
            alone = _median(samples, f"in-process ({algorithm})|{name}", "ms")
            large.append(
                f"| {algorithm} | {name} | {served:.1f} | {alone:.1f} | {served / alone:.2f}x |"
            )
    memory = ["", "| server | resident MiB |", "| --- | --- |"]
    for server in servers:
        memory.append(f"| {server.key} | {_median(samples, server.key + '|rss', 'mib'):.0f} |")
    table = "\n".join(lines + (large if bodies else []) + memory)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"predict-{stamp}.md").write_text(table + "\n")
    (RESULTS / f"predict-{stamp}.json").write_text(json.dumps(samples, indent=2))


if __name__ == "__main__":
    main()
