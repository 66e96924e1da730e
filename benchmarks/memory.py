"""Memory of each ``mlapi serve`` worker, with the bundled model and a large boosting model.

Starts ``mlapi serve --workers N`` once serving the bundled decision tree and once
serving gradient boosting with 300 stages (trained here), waits until every worker is
ready, sends a few predictions, and reads each worker's memory from
``/proc/<pid>/smaps_rollup``: RSS (what ``ps`` shows), PSS (pages shared with other
processes counted by share) and USS (pages private to the worker: what one more worker
costs). The model file's size is printed too. Usage:
``python benchmarks/memory.py [--workers 2]``.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.run import BODY, free_port

HERE = Path(__file__).resolve().parent


def memory_mib(pid: int) -> dict[str, float]:
    """RSS, PSS and USS of a process, in MiB."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()

    def field(name: str) -> float:
        return int(re.search(rf"^{name}:\s+(\d+) kB", rollup, re.M).group(1)) / 1024  # type: ignore[union-attr]

    private = field("Private_Clean") + field("Private_Dirty")
    return {"rss": field("Rss"), "pss": field("Pss"), "uss": private}


def workers_of(pid: int) -> list[int]:
    """The worker processes a ``mlapi serve`` supervisor started (its spawned children)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def measure(folder: Path, workers: int) -> list[dict[str, float]]:
    """Serve the registry in ``folder`` with ``workers`` workers and read their memory."""
    port = free_port()
    mlapi = Path(sys.executable).with_name("mlapi")
    env = {**os.environ, "MLAPI_MODEL_DIR": str(folder), "MLAPI_LOG_LEVEL": "warning"}
    command = [str(mlapi), "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 120
        answered = 0
        while answered < 200:  # both workers have answered by then, each with its model
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/predict", BODY, {"content-type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    answered += response.status == 200
            except OSError:  # not listening yet, or 503 while a worker loads its model
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        time.sleep(1)
        return [memory_mib(worker) for worker in workers_of(server.pid)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    """Measure both models and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stages", type=int, default=300)
    options = parser.parse_args()
    mlapi = Path(sys.executable).with_name("mlapi")
    lines = [
        "| model | file MB | worker | RSS MiB | PSS MiB | USS MiB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        tree, boosting = Path(scratch) / "tree", Path(scratch) / "boosting"
        tree.mkdir()
        env = {**os.environ, "MLAPI_MODEL_DIR": str(boosting)}
        train = [str(mlapi), "train", "--algorithm", "gradient_boosting", "--wait"]
        train += ["--param", f"n_estimators={options.stages}"]
        subprocess.run(train, env=env, check=True, capture_output=True)
        from mlapi.ml.persistence import bundled_model_bytes

        sizes = {
            "bundled decision tree": len(bundled_model_bytes()) / 1e6,
            f"gradient boosting, {options.stages} stages": max(
                path.stat().st_size for path in (boosting / "versions").glob("*.skops")
            )
            / 1e6,
        }
        for (name, size), folder in zip(sizes.items(), (tree, boosting), strict=True):
            for index, worker in enumerate(measure(folder, options.workers)):
                lines.append(
                    f"| {name} | {size:.2f} | {index + 1} | {worker['rss']:.0f} | "
                    f"{worker['pss']:.0f} | {worker['uss']:.0f} |"
                )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
