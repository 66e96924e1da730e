"""Side-by-side load test of mlapi against the serving frameworks people pick instead.

Each algorithm's model file (the bundled decision tree, and gradient boosting trained with
the catalogue's defaults: see ``benchmarks/run.py``) is served by the article's app, by
mlapi, and by each peer framework with and without its own batching:

- Seldon MLServer (V2 inference protocol, ``POST /v2/models/iris/infer``, an FP64
  ``[1, 4]`` tensor in, ``probability`` FP64 and ``prediction`` INT64 tensors out),
  adaptive batching off, then on (``max_batch_size``/``max_batch_time``);
- BentoML (``@bentoml.service``/``@bentoml.api``), ``batchable=False``, then
  ``batchable=True`` in one service (whose answer is one object per row, as BentoML
  splits a batch's result along the rows), then ``batchable=True`` behind a front
  service that keeps mlapi's answer (BentoML's composition: two worker processes);
- LitServe (``LitAPI``), ``max_batch_size=1``, then batched.

BentoML and LitServe take ``{"data": [[5.1, 3.5, 1.4, 0.2]]}`` and answer
``{"prediction": [...], "probability": [[...]]}`` like mlapi. The peers run in their own
virtual environments under ``benchmarks/.peers/<peer>/``, created on first use with the
framework pinned and scikit-learn, numpy and skops at ``requirements.txt``'s versions
(never mlapi): they read the estimator out of mlapi's skops file with skops alone
(``benchmarks/peers/estimator.py``). Every server must give the article app's
probabilities for the Iris row before it is measured.

Every server is started pinned to core 0 (``taskset``) with one worker process (MLServer
with ``parallel_workers=0``, so inference runs in its server process; LitServe always runs
its model in an inference process beside its HTTP process), no access log and no metrics
endpoint; once it answers, wrk on core 1 runs a 2 s warm-up then a measured window at each
connection count, single rows. The resident memory of the server's whole process tree
(the process and all its descendants: MLServer one process, BentoML its arbiter and
workers, LitServe its main, queue manager, HTTP and inference processes and
multiprocessing's resource tracker) is read after its loads. Servers take turns round
after round, every algorithm's servers in each round, so machine noise hits all alike;
the table gives medians over rounds.

mlapi is measured twice: on ``POST /predict``, and on ``POST /v2/models/mlapi/infer``
with the very body MLServer gets (the row ``mlapi, V2 infer``), so the V2 protocol is
compared with the V2 protocol.

Usage: ``python benchmarks/peers.py [--rounds 3] [--seconds 8] [--connections 1 16 64]
[--peers mlserver bentoml litserve] [--install-only]``. The table goes to stdout and, with
the raw samples, to ``benchmarks/results/peers-<stamp>.md`` and ``.json``.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks.run` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.run import (  # noqa: E402
    ALGORITHMS,
    ARTICLE,
    BODY,
    CEILING,
    MLAPI,
    RESULTS,
    Server,
    ensure_wrk,
    free_port,
    load,
    prepare_models,
    resident_mib,
    servers_for,
    start,
)

VENVS = HERE / ".peers"
#: Packages every peer environment pins to mlapi's own versions.
SHARED = ("scikit-learn", "numpy", "skops")
#: Batching limits shared by the peers that take them.
MAX_BATCH_SIZE = 64
BATCH_WAIT_SECONDS = 0.005
#: BentoML's ``max_latency_ms`` (its default): a latency budget past which queued requests
#: are refused with 503, not a wait window; BentoML picks its own wait (adaptive batching).
BENTO_MAX_LATENCY_MS = 60_000
ROW = [5.1, 3.5, 1.4, 0.2]
V2_BODY = json.dumps(
    {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": ROW}]}
).encode()
#: mlapi answering the same V2 body as MLServer, on its Open Inference Protocol route.
MLAPI_V2 = "mlapi, V2 infer"
MLAPI_V2_PATH = "/v2/models/mlapi/infer"
STARTUP_SECONDS = 180
STOP_SECONDS = 20


@dataclass(frozen=True)
class Peer:
    """A framework, the package that installs it and how its answers carry probabilities."""

    name: str
    requirement: str
    module: str


PEERS = {
    "mlserver": Peer("mlserver", "mlserver==1.7.1", "mlserver"),
    "bentoml": Peer("bentoml", "bentoml==1.4.40", "bentoml"),
    "litserve": Peer("litserve", "litserve==0.2.19", "litserve"),
}


@dataclass(frozen=True)
class Variant:
    """One way to run a peer: its label in the table and its batching configuration."""

    peer: str
    name: str
    batching: str
    options: dict[str, Any] = field(default_factory=dict)


VARIANTS = (
    Variant("mlserver", "MLServer", "adaptive batching off (max_batch_size=0)"),
    Variant(
        "mlserver",
        "MLServer batched",
        f"max_batch_size={MAX_BATCH_SIZE}, max_batch_time={BATCH_WAIT_SECONDS} s",
        {"max_batch_size": MAX_BATCH_SIZE, "max_batch_time": BATCH_WAIT_SECONDS},
    ),
    Variant("bentoml", "BentoML", "batchable=False", {"service": "Classifier"}),
    Variant(
        "bentoml",
        "BentoML batched",
        f"batchable=True, max_batch_size={MAX_BATCH_SIZE}, "
        f"max_latency_ms={BENTO_MAX_LATENCY_MS}; answers one object per row",
        {"service": "BatchedClassifier"},
    ),
    Variant(
        "bentoml",
        "BentoML batched, 2 services",
        f"front service (batchable=False) -> model service (batchable=True, "
        f"max_batch_size={MAX_BATCH_SIZE}, max_latency_ms={BENTO_MAX_LATENCY_MS})",
        {"service": "ComposedClassifier"},
    ),
    Variant("litserve", "LitServe", "max_batch_size=1", {"max_batch_size": 1}),
    Variant(
        "litserve",
        "LitServe batched",
        f"max_batch_size={MAX_BATCH_SIZE}, batch_timeout={BATCH_WAIT_SECONDS} s",
        {"max_batch_size": MAX_BATCH_SIZE, "batch_timeout": BATCH_WAIT_SECONDS},
    ),
)


class PeerError(RuntimeError):
    """A peer that could not be installed, started or checked."""


# --- environments -------------------------------------------------------------------------


def pinned_requirements(peer: Peer) -> list[str]:
    """The requirement lines of a peer's environment.

    Args:
        peer: The framework.

    Returns:
        The framework's pin, then scikit-learn, numpy and skops at mlapi's versions.
    """
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if version and not line.startswith("#"):
            pins[name.strip().lower()] = version.strip()
    return [peer.requirement, *(f"{name}=={pins[name]}" for name in SHARED)]


def ensure_venv(peer: Peer) -> Path:
    """Create the peer's virtual environment unless it already holds the same pins.

    The environment's marker file lists the pinned requirements it was built with; a
    missing or different marker rebuilds it from scratch.

    Args:
        peer: The framework.

    Returns:
        The environment's folder.

    Raises:
        PeerError: If pip fails (the log's end is in the message).
    """
    venv = VENVS / peer.name
    marker = venv / "peers-requirements.txt"
    wanted = "\n".join(pinned_requirements(peer)) + "\n"
    if marker.is_file() and marker.read_text() == wanted:
        return venv
    print(f"creating {venv} ({', '.join(pinned_requirements(peer))})...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    VENVS.mkdir(parents=True, exist_ok=True)
    log = VENVS / f"{peer.name}-install.log"
    with log.open("w") as output:
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", *pinned_requirements(peer)],
        ]
        for step in steps:
            if subprocess.run(step, stdout=output, stderr=subprocess.STDOUT).returncode:
                tail = "\n".join(log.read_text().splitlines()[-15:])
                raise PeerError(f"installing {peer.name} failed (see {log}):\n{tail}")
    marker.write_text(wanted)
    return venv


def installed_versions(venv: Path, peer: Peer) -> dict[str, str]:
    """The versions a peer's environment actually holds.

    Args:
        venv: The environment.
        peer: The framework.

    Returns:
        Package name to version, for the framework and the shared packages.
    """
    names = [peer.module, *SHARED]
    code = (
        "import json, sys, importlib.metadata as m\n"
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    command = [str(venv / "bin" / "python"), "-c", code, *names]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    versions: dict[str, str] = json.loads(output)
    return versions


# --- processes ----------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants, read from ``/proc``.

    Args:
        pid: The root process.

    Returns:
        The pids, the root first.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        tree.append(current)
        todo.extend(sorted(children.get(current, [])))
    return tree


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _label(pid: int) -> str:
    """A short name for a process, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return "?"
    if "-m" in argv[:-1]:
        name = argv[argv.index("-m") + 1]
        if "--service-name" in argv[:-1]:
            name += " " + argv[argv.index("--service-name") + 1]
        return name
    if "-c" in argv[:-1]:
        code = argv[argv.index("-c") + 1]
        if "resource_tracker" in code:
            return "multiprocessing resource tracker"
        return "multiprocessing spawned process" if "spawn_main" in code else "python -c"
    program = Path(argv[0]).name
    if program.startswith("python") and len(argv) > 1:
        program = Path(argv[1]).name
    return " ".join([program, *argv[2:3]] if program in ("bentoml", "mlserver") else [program])


def tree_memory(pid: int) -> dict[str, Any]:
    """Memory of a process tree: resident (RSS, summed) and proportional (PSS, summed).

    RSS summed counts the pages forked processes share once per process; PSS splits
    shared pages among their users, so its sum is the tree's real footprint.

    Args:
        pid: The root process.

    Returns:
        ``mib`` (RSS sum), ``pss_mib`` and ``processes`` (one label per process counted).
    """
    rss = pss = 0.0
    labels = []
    for member in process_tree(pid):
        try:
            rss += resident_mib(member)
            rollup = Path(f"/proc/{member}/smaps_rollup").read_text()
            pss += int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.M).group(1)) / 1024  # type: ignore[union-attr]
        except (OSError, AttributeError):
            continue
        labels.append(_label(member))
    return {"mib": rss, "pss_mib": pss, "processes": labels}


def stop_tree(process: subprocess.Popen[bytes]) -> None:
    """Stop a peer server and every process it started.

    Its processes are listed first; the root gets SIGINT (each framework's graceful
    stop) and some seconds; then any listed process still alive (the same pid and start
    time) is killed.

    Args:
        process: The server's root process.
    """
    members = {pid: _start_time(pid) for pid in process_tree(process.pid)}
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    deadline = time.monotonic() + 5
    for pid, started in members.items():
        while _start_time(pid) == started and started and time.monotonic() < deadline:
            time.sleep(0.1)
        if started and _start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def post(port: int, path: str, body: bytes, timeout: float = 2) -> Any:
    """POST a JSON body to a local server.

    Args:
        port: The server's port on 127.0.0.1.
        path: The route.
        body: The JSON bytes.
        timeout: Seconds to wait for the answer.

    Returns:
        The parsed JSON answer.
    """
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", body, {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def probabilities(variant: Variant | None, answer: Any) -> list[float]:
    """The Iris row's class probabilities in a server's answer.

    Args:
        variant: The peer variant, or None for mlapi and the article app.
        answer: The parsed JSON answer.

    Returns:
        One probability per class.
    """
    if variant is not None and variant.peer == "mlserver":
        (output,) = [out for out in answer["outputs"] if out["name"] == "probability"]
        return [float(value) for value in output["data"]]
    if "outputs" in answer:  # mlapi's V2 answer
        (output,) = [out for out in answer["outputs"] if out["name"] == "predict_proba"]
        return [float(value) for value in output["data"]]
    if variant is not None and variant.options.get("service") == "BatchedClassifier":
        return [float(value) for value in answer[0]["probability"]]
    return [float(value) for value in answer["probability"][0]]


@dataclass
class Launch:
    """How to start one peer variant and what to send it."""

    command: list[str]
    env: dict[str, str]
    path: str
    body: bytes


def launch_for(variant: Variant, venv: Path, model: Path, port: int, folder: Path) -> Launch:
    """The command, environment, route and request body of a peer variant.

    Args:
        variant: The peer variant.
        venv: The peer's environment.
        model: The mlapi model file to serve.
        port: The HTTP port.
        folder: A scratch folder of its own (settings files, framework state).

    Returns:
        The launch description, the command pinned to core 0.
    """
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env.update(
        PATH=os.pathsep.join([str(venv / "bin"), env.get("PATH", "")]),
        PYTHONPATH=str(ROOT),
        PEER_MODEL=str(model),
    )
    pinned = ["taskset", "-c", "0"]
    if variant.peer == "mlserver":
        settings = {
            "debug": False,  # no access log
            "parallel_workers": 0,  # inference in the server process: one process
            "metrics_endpoint": None,
            "host": "127.0.0.1",
            "http_port": port,
            "grpc_port": free_port(),
        }
        (folder / "settings.json").write_text(json.dumps(settings))
        (folder / "iris").mkdir(exist_ok=True)
        model_settings = {
            "name": "iris",
            "implementation": "benchmarks.peers.mlserver_runtime.SkopsRuntime",
            "parameters": {"uri": str(model)},
            **variant.options,
        }
        (folder / "iris" / "model-settings.json").write_text(json.dumps(model_settings))
        command = [str(venv / "bin" / "mlserver"), "start", str(folder)]
        return Launch(pinned + command, env, "/v2/models/iris/infer", V2_BODY)
    if variant.peer == "bentoml":
        env.update(
            BENTOML_HOME=str(folder / "bentoml"),
            BENTOML_DO_NOT_TRACK="True",
            PEER_MAX_BATCH_SIZE=str(MAX_BATCH_SIZE),
            PEER_MAX_LATENCY_MS=str(BENTO_MAX_LATENCY_MS),
        )
        service = f"benchmarks.peers.bento_service:{variant.options['service']}"
        command = [str(venv / "bin" / "bentoml"), "serve", service, "--working-dir", str(ROOT)]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        return Launch(pinned + command, env, "/predict", BODY)
    if variant.peer == "litserve":
        command = [str(venv / "bin" / "python"), "-m", "benchmarks.peers.litserve_app"]
        command += [str(model), str(port)]
        command += ["--max-batch-size", str(variant.options["max_batch_size"])]
        command += ["--batch-timeout", str(variant.options.get("batch_timeout", 0.0))]
        return Launch(pinned + command, env, "/predict", BODY)
    raise PeerError(f"unknown peer {variant.peer}")


def start_peer(
    launch: Launch, port: int, folder: Path
) -> tuple[subprocess.Popen[bytes], list[float]]:
    """Start a peer server and wait until it answers a prediction.

    Args:
        launch: Its command, environment, route and body.
        port: Its HTTP port.
        folder: Its scratch folder; its output goes to ``server.log`` there.

    Returns:
        The root process and the probabilities of its first answer.

    Raises:
        PeerError: If it exits or does not answer within :data:`STARTUP_SECONDS`.
    """
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            launch.command, env=launch.env, cwd=folder, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + STARTUP_SECONDS
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            answer = post(port, launch.path, launch.body)
        except (OSError, ValueError) as error:
            last = error
            time.sleep(0.2)
            continue
        time.sleep(1)  # let start-up work settle, as benchmarks/run.py does
        return process, answer
    code = process.poll()
    stop_tree(process)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    why = f"exited with code {code}" if code is not None else f"no answer ({last!r})"
    raise PeerError(f"{why}; end of {log}:\n{tail}")


# --- rounds -------------------------------------------------------------------------------


def measure(
    wrk: str,
    port: int,
    options: argparse.Namespace,
    key: str,
    samples: dict[str, list[dict]],
    body: Path | None = None,
    path: str = "/predict",
) -> None:
    """Warm up and measure a started server at each connection count.

    Args:
        wrk: wrk's path.
        port: The server's port.
        options: The command line (``connections``, ``seconds``).
        key: The server's key in ``samples``: ``name|algorithm``.
        samples: Where the results go.
        body: A request body file (peers), or None for mlapi's one-row body.
        path: The route.
    """
    for connections in options.connections:
        load(wrk, port, connections, 2, body, path)  # warm-up
        result = load(wrk, port, connections, options.seconds, body, path)
        result["loadavg"] = os.getloadavg()[0]
        samples.setdefault(f"{key}|c={connections}", []).append(result)
        print(f"{key:<45} c={connections:<4} {result}", flush=True)


def run_round(
    wrk: str,
    options: argparse.Namespace,
    models: dict[str, tuple[Path, Path]],
    peers: dict[str, Path],
    state: dict[str, Any],
    scratch: Path,
) -> None:
    """One round: for each algorithm, the article app, mlapi, then every peer variant.

    Args:
        wrk: wrk's path.
        options: The command line.
        models: Each algorithm's model file and mlapi model folder.
        peers: Each installed peer's environment.
        state: ``samples``, ``memory``, ``expected`` (the article app's probabilities)
            and ``failures``, filled in.
        scratch: The round's scratch folder.
    """
    samples, memory, failures = state["samples"], state["memory"], state["failures"]
    baselines = [s for s in servers_for(models, None, None) if s.name != CEILING]
    for algorithm in ALGORITHMS:
        model = models[algorithm][0]
        for server in [s for s in baselines if s.algorithm == algorithm]:
            run_baseline(wrk, options, server, state, scratch)
        for variant in [v for v in VARIANTS if v.peer in peers]:
            key = f"{variant.name}|{algorithm}"
            if key in failures:
                continue
            folder = scratch / re.sub(r"\W+", "_", key)
            folder.mkdir(parents=True)
            port = free_port()
            process = None
            try:
                launch = launch_for(variant, peers[variant.peer], model, port, folder)
                process, answer = start_peer(launch, port, folder)
                check(state, algorithm, variant.name, probabilities(variant, answer))
                body = folder / "body.json"
                body.write_bytes(launch.body)
                measure(wrk, port, options, key, samples, body, launch.path)
                memory.setdefault(key, []).append(tree_memory(process.pid))
            except (PeerError, subprocess.CalledProcessError, OSError, KeyError) as error:
                failures[key] = f"{type(error).__name__}: {error}"
                print(f"!! {variant.name} ({algorithm}) failed: {error}", flush=True)
            finally:
                if process is not None:
                    stop_tree(process)


def run_baseline(
    wrk: str,
    options: argparse.Namespace,
    server: Server,
    state: dict[str, Any],
    scratch: Path,
) -> None:
    """Start the article app or mlapi (``benchmarks.run.start``) and measure it.

    Args:
        wrk: wrk's path.
        options: The command line.
        server: The article app or mlapi, for one algorithm.
        state: The run's samples, memory, expected answers and failures.
        scratch: The round's scratch folder.
    """
    port = free_port()
    process = start(server, port, scratch / re.sub(r"\W+", "_", server.key))
    try:
        answer = probabilities(None, post(port, "/predict", BODY))
        if server.name == ARTICLE:
            state["expected"][server.algorithm] = answer
        check(state, str(server.algorithm), server.name, answer)
        key = f"{server.name}|{server.algorithm}"
        measure(wrk, port, options, key, state["samples"])
        state["memory"].setdefault(key, []).append(tree_memory(process.pid))
        if server.name == MLAPI:  # the same server on the protocol MLServer speaks
            answer = probabilities(None, post(port, MLAPI_V2_PATH, V2_BODY))
            check(state, str(server.algorithm), MLAPI_V2, answer)
            body = scratch / f"v2-{server.algorithm}.json"
            body.write_bytes(V2_BODY)
            v2_key = f"{MLAPI_V2}|{server.algorithm}"
            measure(wrk, port, options, v2_key, state["samples"], body, MLAPI_V2_PATH)
    finally:
        process.terminate()
        process.wait()


def check(state: dict[str, Any], algorithm: str, name: str, answer: list[float]) -> None:
    """Refuse a server whose probabilities for the Iris row differ from the article app's.

    Args:
        state: The run's state, with ``expected`` per algorithm.
        algorithm: The model's algorithm.
        name: The server's label.
        answer: Its probabilities.

    Raises:
        PeerError: If they differ by more than 1e-9.
    """
    expected = state["expected"].get(algorithm)
    if expected is None:
        return
    if len(expected) != len(answer) or any(
        abs(a - b) > 1e-9 for a, b in zip(expected, answer, strict=False)
    ):
        raise PeerError(f"{name} answered {answer}, the article app {expected}")


# --- report -------------------------------------------------------------------------------


def _median(values: list[dict], field_name: str) -> float:
    return statistics.median(value[field_name] for value in values)


def report(
    options: argparse.Namespace,
    state: dict[str, Any],
    versions: dict[str, dict[str, str]],
    started: str,
) -> str:
    """The Markdown report: settings, the table, mlapi against the best peer, memory.

    Args:
        options: The command line.
        state: The run's samples, memory and failures.
        versions: Each peer environment's installed versions.
        started: When the run started.

    Returns:
        The report's text.
    """
    samples, memory, failures = state["samples"], state["memory"], state["failures"]
    names = [ARTICLE, MLAPI, MLAPI_V2] + [v.name for v in VARIANTS if v.peer in versions]
    mlserver_names = {v.name for v in VARIANTS if v.peer == "mlserver"}
    peer_names = {v.name for v in VARIANTS}
    command = "python benchmarks/peers.py " + " ".join(sys.argv[1:])
    lines = [
        f"# mlapi and its peers, {started}",
        "",
        f"Command: `{command.strip()}`; {options.rounds} round(s), "
        f"{options.seconds} s measured after a 2 s warm-up per connection count; servers "
        "pinned to core 0, wrk to core 1; single rows; medians over rounds. Load average "
        f"(1 min) at start {state['loadavg'][0]:.2f}, at end {os.getloadavg()[0]:.2f}.",
        "",
        "Versions: "
        + "; ".join(
            f"{peer}: " + ", ".join(f"{k} {v}" for k, v in found.items())
            for peer, found in versions.items()
        ),
        "",
        "Batching: mlapi as configured by default (its own micro-batching); "
        + "; ".join(f"{v.name}: {v.batching}" for v in VARIANTS if v.peer in versions),
        "",
        "| algorithm | connections | server | median req/s | p50 ms | p99 ms | vs article "
        "| mlapi / this |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    verdicts, errors = [], []
    for algorithm in ALGORITHMS:
        for connections in options.connections:
            load_name = f"c={connections}"

            def rps(name: str, load_name: str = load_name, algorithm: str = algorithm) -> float:
                found = samples.get(f"{name}|{algorithm}|{load_name}")
                return _median(found, "rps") if found else float("nan")

            article, mlapi = rps(ARTICLE), rps(MLAPI)
            best: tuple[float, str] | None = None
            best_v2: tuple[float, str] | None = None
            for name in names:
                found = samples.get(f"{name}|{algorithm}|{load_name}")
                if not found:
                    continue
                rate = _median(found, "rps")
                p50, p99 = _median(found, "p50_ms"), _median(found, "p99_ms")
                lines.append(
                    f"| {algorithm} | {connections} | {name} | {rate:,.1f} | {p50:.2f} | "
                    f"{p99:.2f} | {rate / article:.2f}x | {mlapi / rate:.2f}x |"
                )
                if name in peer_names and (best is None or rate > best[0]):
                    best = (rate, name)
                if name in mlserver_names and (best_v2 is None or rate > best_v2[0]):
                    best_v2 = (rate, name)
                bad = sum(sample["errors"] for sample in found)
                if bad:
                    errors.append(f"{name} ({algorithm}, c={connections}): {bad} non-2xx")
            if best:
                verdicts.append(
                    f"- {algorithm}, {connections} connection(s): mlapi / best peer "
                    f"({best[1]}, {best[0]:,.1f} req/s) = {mlapi / best[0]:.2f}x"
                )
            if best_v2:
                verdicts.append(
                    f"- {algorithm}, {connections} connection(s), V2 infer against V2 infer: "
                    f"mlapi / {best_v2[1]} ({best_v2[0]:,.1f} req/s) = "
                    f"{rps(MLAPI_V2) / best_v2[0]:.2f}x"
                )
    lines += ["", "mlapi against the fastest peer variant:", "", *verdicts]
    lines += [
        "",
        "Memory after the loads (medians; RSS summed over the server's process tree, and "
        "PSS, which counts pages shared between forked processes once):",
        "",
        "| server | algorithm | RSS MiB | PSS MiB | processes counted |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in names:
        for algorithm in ALGORITHMS:
            found = memory.get(f"{name}|{algorithm}")
            if found:
                counted = found[-1]["processes"]
                labels = ", ".join(
                    f"{counted.count(label)}x {label}" if counted.count(label) > 1 else label
                    for label in dict.fromkeys(counted)
                )
                lines.append(
                    f"| {name} | {algorithm} | {_median(found, 'mib'):.0f} | "
                    f"{_median(found, 'pss_mib'):.0f} | {len(counted)}: {labels} |"
                )
    if errors:
        lines += ["", "Non-2xx answers (wrk): " + "; ".join(errors)]
    if failures:
        lines += ["", "Failures:", ""]
        lines += [
            f"- {key.replace('|', ' (')}): {why}".replace("\n", " ")
            for key, why in failures.items()
        ]
    return "\n".join(lines)


def main() -> None:
    """Install the peers, run the rounds and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--peers", nargs="+", choices=sorted(PEERS), default=sorted(PEERS))
    parser.add_argument("--install-only", action="store_true", help="only create the venvs")
    options = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    state: dict[str, Any] = {
        "samples": {},
        "memory": {},
        "expected": {},
        "failures": {},
        "loadavg": os.getloadavg(),
    }
    peers: dict[str, Path] = {}
    versions: dict[str, dict[str, str]] = {}
    for name in [name for name in PEERS if name in options.peers]:
        try:
            peers[name] = ensure_venv(PEERS[name])
            versions[name] = installed_versions(peers[name], PEERS[name])
        except (PeerError, subprocess.CalledProcessError, OSError) as error:
            state["failures"][f"{name}|install"] = str(error)
            print(f"!! {name} cannot be installed: {error}", flush=True)
    if options.install_only:
        print(json.dumps(versions, indent=2))
        return
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        models = prepare_models(scratch)
        for number in range(options.rounds):
            print(f"--- round {number + 1} of {options.rounds}", flush=True)
            run_round(wrk, options, models, peers, state, scratch / str(number))
    table = report(options, state, versions, started)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"peers-{stamp}.md").write_text(table + "\n")
    raw = {key: state[key] for key in ("samples", "memory", "failures", "loadavg")}
    raw.update(versions=versions, options=vars(options), started=started)
    (RESULTS / f"peers-{stamp}.json").write_text(json.dumps(raw, indent=2))
    print(f"\nsaved {RESULTS / f'peers-{stamp}.md'} and .json", flush=True)


if __name__ == "__main__":
    main()
