"""Latency of ``POST /v1/predict`` when idle and while training jobs run back to back.

One ``mlapi serve`` runs on core 0 (taskset; its training processes inherit that core),
wrk on core 1 with a fixed number of connections. The same server is measured idle,
then while gradient boosting jobs (``n_estimators`` 300) are queued one after another
for the whole window, then while versions are activated back to back: the bundled
version and a 300-stage boosting version in turn (each kept loaded once served: a
roll-back), and the bundled version and two boosting versions in a cycle that the
server's one cached version cannot hold (each loaded from its file). Idle is measured
with each model served, the activations alternating both; the table puts them side by
side. Usage:
``python benchmarks/predict_during_training.py [--seconds 10] [--connections 8]``.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from benchmarks.run import ensure_wrk, free_port

HERE = Path(__file__).resolve().parent
BODY = b'{"data": [[5.1, 3.5, 1.4, 0.2]]}'
SCALE_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def call(url: str, body: dict[str, object] | None = None) -> dict[str, object]:
    """GET ``url``, or POST ``body`` to it as JSON; return the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"content-type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
        answer: dict[str, object] = json.loads(response.read())
        return answer


def start_server(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """Start ``mlapi serve`` pinned to core 0 and wait until it is ready."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MLAPI_")}
    env |= {
        "MLAPI_MODEL_DIR": str(folder / "models"),
        "MLAPI_CACHE_DIR": str(folder / "cache"),
        "MLAPI_LOG_LEVEL": "warning",  # no access log
        "MLAPI_CACHED_VERSIONS": "1",  # the model swapped out: see ``activate_in_turn``
        # Training and activating without a key, as `make run` does: loopback only.
        "MLAPI_DEV_MODE": "true",
    }
    command = ["taskset", "-c", "0", sys.executable, "-m", "mlapi", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=folder)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health/ready", timeout=2)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def load(wrk: str, url: str, connections: int, seconds: int) -> dict[str, float]:
    """Run wrk on core 1 against ``url`` and read its latency distribution."""
    command = ["taskset", "-c", "1", wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["-s", str(HERE / "post.lua"), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for percentile in ("50", "90", "99"):
        found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        result[f"p{percentile}"] = float(found.group(1)) * SCALE_MS[found.group(2)] if found else -1
    found = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", output)
    result["max"] = float(found.group(1)) * SCALE_MS[found.group(2)] if found else -1
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    result["errors"] = int(errors.group(1)) if errors else 0
    if socket_errors:
        result["errors"] += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return result


def train_back_to_back(base: str, activate: bool, stop: threading.Event) -> list[int]:
    """Queue one gradient boosting job after another until ``stop``; count finished ones."""
    finished = [0]

    def run() -> None:
        body = {
            "algorithm": "gradient_boosting",
            "hyperparameters": {"n_estimators": 300},
            "activate": activate,
        }
        while not stop.is_set():
            job = call(f"{base}/v1/train", body)
            while job["state"] not in {"succeeded", "failed"}:
                time.sleep(0.1)
                job = call(f"{base}/v1/jobs/{job['id']}")
            finished[0] += job["state"] == "succeeded"

    threading.Thread(target=run, name="trainer", daemon=True).start()
    return finished


def activate_in_turn(
    base: str, versions: tuple[int, ...], stop: threading.Event
) -> tuple[list[int], threading.Thread]:
    """Activate versions in turn until ``stop``; count the activations.

    With one version cached besides the served one, two versions in turn are each still
    loaded when activated again; three are each loaded from their file.

    Returns:
        The count, and the thread to join once ``stop`` is set.
    """
    done = [0]

    def run() -> None:
        while not stop.is_set():
            call(f"{base}/v1/models/{versions[done[0] % len(versions)]}/activate", {})
            done[0] += 1

    thread = threading.Thread(target=run, name="activator", daemon=True)
    thread.start()
    return done, thread


def register_boosting(base: str) -> int:
    """Train a 300-stage gradient boosting version, without activating it; its number."""
    job = call(
        f"{base}/v1/train",
        {
            "algorithm": "gradient_boosting",
            "activate": False,
            "hyperparameters": {"n_estimators": 300},
        },
    )
    while job["state"] not in {"succeeded", "failed"}:
        time.sleep(0.2)
        job = call(f"{base}/v1/jobs/{job['id']}")
    if job["state"] != "succeeded":
        raise SystemExit(f"the boosting model did not train: {job}")
    return int(job["model_version"])  # type: ignore[call-overload]


def main() -> None:
    """Measure each condition and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    options = parser.parse_args()
    wrk = ensure_wrk()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = start_server(port, Path(scratch))
        try:
            boosting = (register_boosting(base), register_boosting(base))
            load(wrk, f"{base}/v1/predict", options.connections, 2)  # warm-up
            cycles = {
                "activating, kept loaded": (1, boosting[0]),
                "activating, from file": (1, *boosting),
            }
            conditions = ("idle", "idle, boosting served", "training", *cycles)
            for name in conditions:
                stop = threading.Event()
                finished, activator = [0], None
                seconds = options.seconds
                if name == "idle, boosting served":
                    call(f"{base}/v1/models/{boosting[0]}/activate", {})
                elif name == "training":
                    call(f"{base}/v1/models/1/activate", {})
                    finished = train_back_to_back(base, False, stop)
                    time.sleep(1)  # let the first job get going
                elif name in cycles:
                    finished, activator = activate_in_turn(base, cycles[name], stop)
                    # Reading a 300-stage file in a helper process takes seconds: a
                    # longer window, so that several activations fall in it.
                    seconds *= 3 if name == "activating, from file" else 1
                sample = load(wrk, f"{base}/v1/predict", options.connections, seconds)
                stop.set()
                if activator is not None:
                    activator.join()
                rows.append((name, seconds, sample, finished[0]))
                print(f"{name:<24} {sample} jobs or activations done: {finished[0]}", flush=True)
                time.sleep(3)  # the last job finishes before the next condition
        finally:
            process.terminate()
            process.wait()
    print(f"\nwrk -t1 -c{options.connections}, POST /v1/predict, one row\n")
    print(
        "| condition | seconds | req/s | p50 ms | p90 ms | p99 ms | max ms | errors "
        "| jobs / activations |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, seconds, s, done in rows:
        print(
            f"| {name} | {seconds} | {s['rps']:,.0f} | {s['p50']:.2f} | {s['p90']:.2f} "
            f"| {s['p99']:.2f} | {s['max']:.1f} | {int(s['errors'])} | {done} |"
        )


if __name__ == "__main__":
    main()
