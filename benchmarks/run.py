"""Side-by-side load test of /predict: mlapi against the article's app and FastAPI's ceiling.

Each server runs alone on core 0 (taskset), wrk on core 1. The servers take turns, round
after round, so machine noise hits all of them alike; the table reports medians and the
ratio of each to the article's app. Usage: ``python benchmarks/run.py [--rounds 3]``.

``--against REV`` adds mlapi as it was at a git revision (checked out in a scratch
worktree, run with the same packages), so a change to the request path is measured
against what it replaces in the same run.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

SERVERS = {
    "article app (seed)": "benchmarks.seed_app:app",
    "mlapi /predict": "mlapi.main:app",
    "FastAPI constant (ceiling)": "benchmarks.ceiling_app:app",
}
BODY = b'{"data": [[5.1, 3.5, 1.4, 0.2]]}'


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package)...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(app: str, port: int, folder: Path, source: Path | None = None) -> subprocess.Popen[bytes]:
    path = os.pathsep.join(str(entry) for entry in (source, HERE.parent) if entry)
    env = {**os.environ, "MLAPI_MODEL_DIR": str(folder / "models"), "PYTHONPATH": path}
    command = ["taskset", "-c", "0", sys.executable, "-m", "uvicorn", app, "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(command, env=env, cwd=folder)
    deadline = time.monotonic() + 30
    url = f"http://127.0.0.1:{port}/predict"
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, BODY, {"content-type": "application/json"})
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{app} did not start")


def load(wrk: str, port: int, connections: int, seconds: int) -> dict[str, float]:
    command = ["taskset", "-c", "1", wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-s", str(HERE / "post.lua"), f"http://127.0.0.1:{port}/predict"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": rate,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--against", metavar="REV", help="also run mlapi as of this revision")
    options = parser.parse_args()
    wrk = ensure_wrk()
    samples: dict[tuple[str, int], list[dict[str, float]]] = {}
    servers: dict[str, tuple[str, Path | None]] = {
        name: (app, None) for name, app in SERVERS.items()
    }
    with tempfile.TemporaryDirectory() as scratch:
        if options.against:
            tree = Path(scratch) / "against"
            git = ["git", "-C", str(HERE.parent)]
            subprocess.run(
                [*git, "worktree", "add", "--detach", str(tree), options.against], check=True
            )
            servers[f"mlapi /predict @ {options.against}"] = ("mlapi.main:app", tree / "src")
        try:
            run_rounds(wrk, servers, options, samples, Path(scratch))
        finally:
            if options.against:
                subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)
    report(servers, options.connections, samples)


def run_rounds(
    wrk: str,
    servers: dict[str, tuple[str, Path | None]],
    options: argparse.Namespace,
    samples: dict[tuple[str, int], list[dict[str, float]]],
    scratch: Path,
) -> None:
    for round_number in range(options.rounds):
        for name, (app, source) in servers.items():
            port = free_port()
            process = start(app, port, scratch / name.replace(" ", "_").replace("/", ""), source)
            try:
                for connections in options.connections:
                    load(wrk, port, connections, 2)  # warm-up
                    sample = load(wrk, port, connections, options.seconds)
                    samples.setdefault((name, connections), []).append(sample)
                    print(f"round {round_number + 1} {name:<28} c={connections:<3} {sample}")
            finally:
                process.terminate()
                process.wait()


def report(
    servers: dict[str, tuple[str, Path | None]],
    connections_list: list[int],
    samples: dict[tuple[str, int], list[dict[str, float]]],
) -> None:
    baseline = "article app (seed)"
    lines = ["| server | connections | median req/s | vs article | median p99 ms | non-2xx |"]
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for connections in connections_list:
        base = statistics.median(s["rps"] for s in samples[(baseline, connections)])
        for name in servers:
            runs = samples[(name, connections)]
            rps = statistics.median(s["rps"] for s in runs)
            p99 = statistics.median(s["p99_ms"] for s in runs)
            errors = sum(int(s["errors"]) for s in runs)
            ratio = rps / base
            lines.append(
                f"| {name} | {connections} | {rps:,.0f} | {ratio:.2f}x | {p99:.2f} | {errors} |"
            )
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"predict-{stamp}.md").write_text(table + "\n")
    (RESULTS / f"predict-{stamp}.json").write_text(
        json.dumps({f"{k[0]} c={k[1]}": v for k, v in samples.items()}, indent=2)
    )


if __name__ == "__main__":
    main()
