"""Memory of each ``mlapi serve`` worker, with the bundled model and a large boosting model.

Serves the bundled decision tree, then gradient boosting with 300 stages (trained here),
with N workers two ways side by side: ``mlapi serve --workers N`` (a supervisor loads the
app and the model, then forks the workers) and ``uvicorn mlapi.main:app --workers N``
(uvicorn spawns each worker, which loads everything itself). Once every worker has
answered, reads each process's memory from ``/proc/<pid>/smaps_rollup``: RSS (what
``ps`` shows), PSS (pages shared with other processes counted by share; the sum over the
processes is what the server costs) and USS (pages private to the process: what one more
worker costs). The model file's size is printed too. Usage:
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


def processes_of(pid: int) -> list[tuple[str, int]]:
    """A server's processes, named: itself and its children (workers, and any helper)."""
    children = [
        int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ]
    named, workers = [("supervisor", pid)], 0
    for child in children:
        if b"resource_tracker" in Path(f"/proc/{child}/cmdline").read_bytes():
            named.append(("resource tracker", child))
        else:
            workers += 1
            named.append((f"worker {workers}", child))
    return named


#: How each server is started, by name; ``{port}`` and ``{workers}`` filled in.
SERVERS = {
    "mlapi serve (forked)": ["mlapi", "serve", "--port", "{port}", "--workers", "{workers}"],
    "uvicorn (spawned)": [
        "uvicorn",
        "mlapi.main:app",
        "--port",
        "{port}",
        "--workers",
        "{workers}",
        "--log-level",
        "warning",
    ],
}


def measure(folder: Path, server: str, workers: int) -> list[tuple[str, dict[str, float]]]:
    """Serve the registry in ``folder`` with ``workers`` workers; its processes' memory."""
    port = free_port()
    env = {**os.environ, "MLAPI_MODEL_DIR": str(folder), "MLAPI_LOG_LEVEL": "warning"}
    command = [part.format(port=port, workers=workers) for part in SERVERS[server]]
    command[0] = str(Path(sys.executable).with_name(command[0]))
    process = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 120
        answered = 0
        while answered < 200:  # every worker has answered by then, each with its model
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
        return [(role, memory_mib(pid)) for role, pid in processes_of(process.pid)]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    """Measure both models and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stages", type=int, default=300)
    options = parser.parse_args()
    mlapi = Path(sys.executable).with_name("mlapi")
    lines = [
        "| model | file MB | server | process | RSS MiB | PSS MiB | USS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
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
            for server in SERVERS:
                processes = measure(folder, server, options.workers)
                for role, memory in processes:
                    lines.append(
                        f"| {name} | {size:.2f} | {server} | {role} | {memory['rss']:.0f} | "
                        f"{memory['pss']:.0f} | {memory['uss']:.0f} |"
                    )
                total = sum(memory["pss"] for _, memory in processes)
                lines.append(f"| {name} | {size:.2f} | {server} | **all, PSS** | | {total:.0f} | |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
