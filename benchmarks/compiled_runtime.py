"""Do compiled runtimes for tree models beat scikit-learn's ``predict_proba``?

For the two algorithms mlapi serves by default, the bundled decision tree
(``IrisClassifier.load()``) and gradient boosting trained through mlapi's own API on Iris
(``IrisClassifier().train(..., algorithm="gradient_boosting", n_estimators=300)``), this
script converts the fitted estimator for each runtime it finds:

- onnxruntime, through skl2onnx (``zipmap=False``), with float32 and with double input,
  in a session restricted to one thread (intra- and inter-op, sequential execution);
- treelite's GTIL interpreter and a tl2cgen shared library (gcc), if both are installed.

It then measures side by side, interleaved over ``--repeat`` rounds (the order rotating
each round), the median time of scikit-learn and of each runtime on 1 row (a held-out
Iris row) and on ``--rows-large`` rows drawn uniformly over Iris' feature ranges (seeded).
scikit-learn runs under ``threadpoolctl.threadpool_limits(1)``, so every runtime has one
core. Each runtime is timed from the float64 rows mlapi validates, so a cast to float32
is part of its time, as it would be when serving. Then it compares the probabilities with
scikit-learn's on the held-out rows (the split mlapi's training made, rebuilt with the
classifier's ``test_size`` and ``random_state``) and on the random rows: the largest
absolute difference, and whether the argmax classes agree everywhere. A conversion that
fails is a row of the table saying why.

It prints Markdown: the table, the rounds' spread, conversion and session times, and the
sizes of the model files (written to ``--out``, a temporary folder by default).

onnxruntime and skl2onnx are not mlapi dependencies: run this from an opt-in virtualenv,
e.g. from the repository root::

    python -m venv /tmp/compiled/venv
    /tmp/compiled/venv/bin/pip install -e . onnxruntime skl2onnx treelite tl2cgen
    taskset -c 0 /tmp/compiled/venv/bin/python benchmarks/compiled_runtime.py --repeat 7

(treelite and tl2cgen are optional; tl2cgen needs gcc.) If mlapi is not installed in that
virtualenv, the script imports it from this repository's ``src`` folder.
"""

import argparse
import importlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
INSTALL = (
    "onnxruntime and skl2onnx are needed (not mlapi dependencies): install them in an "
    "opt-in virtualenv, e.g. `python -m venv /tmp/compiled/venv && /tmp/compiled/venv/bin/pip "
    "install -e . onnxruntime skl2onnx treelite tl2cgen`, then run this script with "
    "/tmp/compiled/venv/bin/python"
)
SKLEARN = "scikit-learn"
TOLERANCE = 1e-6  # the probabilities must match scikit-learn's this closely (held out)
SPEEDUP = 3.0  # ... and the runtime be this much faster
SAMPLE_SECONDS = 0.2  # the length of one 1-row sample (many calls)

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass
class Runner:
    """One way to compute a model's class probabilities from float64 rows."""

    runtime: str
    dtype: str
    predict: Predict | None = None
    error: str | None = None
    setup: dict[str, float] = field(default_factory=dict)  # step: seconds
    files: dict[str, int] = field(default_factory=dict)  # file name: bytes
    one_row: list[float] = field(default_factory=list)  # seconds per call, per round
    large: list[float] = field(default_factory=list)
    # Per set of rows (held out, large, thresholds): max |Δp| and argmax disagreements.
    checks: dict[str, tuple[float, int]] = field(default_factory=dict)

    def diff(self, rows: str) -> float:
        return self.checks.get(rows, (float("nan"), 0))[0]


@dataclass
class Subject:
    """A fitted model, its held-out rows and the runners measured on it."""

    name: str
    estimator: Any
    held_out: np.ndarray
    split_check: str
    thresholds: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))
    runners: list[Runner] = field(default_factory=list)


def need(name: str) -> ModuleType:
    """Import a module the benchmark cannot do without, or say how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise SystemExit(f"{error}\n{INSTALL}") from None


def optional(name: str) -> ModuleType | None:
    """Import a module if it is installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def short(error: BaseException) -> str:
    """One line of an exception, fit for a Markdown table cell."""
    text = " ".join(str(error).split()).replace("|", "/")
    text = text.replace("[ONNXRuntimeError] : 1 : FAIL : ", "")
    return f"{type(error).__name__}: {text[:160]}"


def mlapi_ml() -> ModuleType:
    """Import ``mlapi.ml``: installed, or from this repository's ``src`` folder."""
    try:
        return importlib.import_module("mlapi.ml")
    except ModuleNotFoundError as error:
        if error.name not in ("mlapi", "mlapi.ml"):
            raise SystemExit(f"{error}: mlapi's dependencies are missing.\n{INSTALL}") from None
    sys.path.insert(0, str(SRC))
    return importlib.import_module("mlapi.ml")


def held_out_rows(classifier: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, str]:
    """Rebuild the held-out rows of mlapi's training split and check them.

    ``mlapi.ml.training.fit`` splits with ``train_test_split`` stratified by class, seeded
    by the classifier's ``random_state`` and sized by its ``test_size``; the check is that
    the model's confusion matrix on the rebuilt rows is the one recorded when it was trained.
    """
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import train_test_split

    _, target = np.unique(y, return_inverse=True)
    _, x_test, _, y_test = train_test_split(
        x,
        target,
        test_size=classifier.test_size,
        random_state=classifier.random_state,
        stratify=target,
    )
    recorded = classifier.metadata.evaluation.confusion_matrix
    found = confusion_matrix(y_test, classifier.estimator.predict(x_test)).tolist()
    check = "matches" if found == recorded else f"differs ({found} vs recorded {recorded})"
    return x_test, f"{len(x_test)} rows, confusion matrix {check} the recorded evaluation"


def subjects(out: Path) -> tuple[list[Subject], np.ndarray, dict[str, int], float]:
    """The bundled tree and 300-stage gradient boosting, with Iris and skops file sizes."""
    iris_classifier = mlapi_ml().IrisClassifier
    data = iris_classifier.dataset()
    x, y = np.asarray(data["X"], dtype=np.float64), np.asarray(data["y"])
    tree = iris_classifier.load()
    boost = iris_classifier()
    started = time.perf_counter()
    boost.train(x, y, algorithm="gradient_boosting", n_estimators=300)
    training = time.perf_counter() - started
    found, sizes = [], {}
    for name, classifier in (("decision tree (bundled)", tree), ("gradient boosting 300", boost)):
        rows, check = held_out_rows(classifier, x, y)
        found.append(Subject(name, classifier.estimator, rows, check))
        path = out / f"{slug(name)}.skops"
        path.write_bytes(classifier.to_bytes())
        sizes[path.name] = path.stat().st_size
    return found, x, sizes, training


def slug(name: str) -> str:
    return name.split(" (")[0].replace(" ", "_")


def sklearn_runner(estimator: Any) -> Runner:
    return Runner(SKLEARN, "float64", predict=estimator.predict_proba)


def kernel_runner(estimator: Any) -> Runner:
    """mlapi's own way: scikit-learn's compiled kernels without its per-call checks."""
    runner = Runner("scikit-learn kernels (mlapi.ml.kernels)", "float64")
    try:
        from mlapi.ml.kernels import kernel_for

        runner.predict = kernel_for(estimator)
        if runner.predict is None:
            runner.error = "no kernel for this estimator"
    except ImportError as error:
        runner.error = short(error)
    return runner


def onnx_runners(estimator: Any, name: str, out: Path) -> list[Runner]:
    """skl2onnx conversions with float32 and double input, each in a one-thread session."""
    ort, skl2onnx = need("onnxruntime"), need("skl2onnx")
    types = need("skl2onnx.common.data_types")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    runners = []
    for dtype, label, tensor in (
        (np.float32, "float32", types.FloatTensorType),
        (np.float64, "double", types.DoubleTensorType),
    ):
        runner = Runner("onnxruntime", label)
        runners.append(runner)
        try:
            started = time.perf_counter()
            model = skl2onnx.convert_sklearn(
                estimator,
                initial_types=[("X", tensor([None, estimator.n_features_in_]))],
                options={type(estimator): {"zipmap": False}},
                target_opset={"": 21, "ai.onnx.ml": 3},
            )
            blob = model.SerializeToString()
            runner.setup["convert"] = time.perf_counter() - started
            path = out / f"{slug(name)}-{runner.dtype}.onnx"
            path.write_bytes(blob)
            runner.files[path.name] = len(blob)
        except Exception as error:
            runner.error = f"conversion failed: {short(error)}"
            continue
        try:
            started = time.perf_counter()
            session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
            runner.setup["session"] = time.perf_counter() - started
        except Exception as error:
            runner.error = f"session refused the model: {short(error)}"
            continue
        runner.predict = onnx_predict(session, dtype)
    return runners


def onnx_predict(session: Any, dtype: type) -> Predict:
    inputs = session.get_inputs()[0].name
    names = [output.name for output in session.get_outputs()]
    output = "probabilities" if "probabilities" in names else names[-1]

    def predict(rows: np.ndarray) -> np.ndarray:
        result: np.ndarray = session.run([output], {inputs: rows.astype(dtype, copy=False)})[0]
        return result

    return predict


def treelite_runners(estimator: Any, name: str, out: Path) -> list[Runner]:
    """treelite's GTIL interpreter and a tl2cgen library, if both are installed."""
    treelite, tl2cgen = optional("treelite"), optional("tl2cgen")
    gtil = Runner("treelite GTIL", "float64")
    compiled = Runner("tl2cgen (gcc)", "float64")
    rounded = Runner("tl2cgen (gcc)", "float64 rounded to float32")
    if treelite is None:
        gtil.error = "not installed (pip install treelite tl2cgen)"
        return [gtil]
    try:
        started = time.perf_counter()
        model = treelite.sklearn.import_model(estimator)
        imported = time.perf_counter() - started
    except Exception as error:
        gtil.runtime = "treelite (GTIL and tl2cgen)"
        gtil.error = f"import failed: {short(error)}"
        return [gtil]
    gtil.setup["import"] = imported

    def interpret(rows: np.ndarray) -> np.ndarray:
        result: np.ndarray = treelite.gtil.predict(model, rows, nthread=1)
        return result.reshape(len(rows), -1)

    gtil.predict = interpret
    if tl2cgen is None:
        compiled.error = "tl2cgen not installed (pip install tl2cgen)"
        return [gtil, compiled]
    if shutil.which("gcc") is None:
        compiled.error = "no gcc to compile the library"
        return [gtil, compiled]
    library = out / f"{slug(name)}.so"
    try:
        started = time.perf_counter()
        tl2cgen.export_lib(
            model, toolchain="gcc", libpath=str(library), params={"parallel_comp": 8}, nthread=1
        )
        compile_seconds = time.perf_counter() - started
        started = time.perf_counter()
        predictor = tl2cgen.Predictor(str(library), nthread=1)
        load_seconds = time.perf_counter() - started
    except Exception as error:
        compiled.error = f"compilation failed: {short(error)}"
        return [gtil, compiled]
    for runner, as_float32 in ((compiled, False), (rounded, True)):
        runner.setup = {"import": imported, "compile": compile_seconds, "load": load_seconds}
        runner.predict = tl2cgen_predict(tl2cgen, predictor, as_float32)
    compiled.files[library.name] = library.stat().st_size
    return [gtil, compiled, rounded]


def tl2cgen_predict(tl2cgen: ModuleType, predictor: Any, as_float32: bool) -> Predict:
    """Predict from float64 rows; rounded to float32 first, as scikit-learn's trees do."""

    def predict(rows: np.ndarray) -> np.ndarray:
        if as_float32:
            rows = rows.astype(np.float32).astype(np.float64)
        result: np.ndarray = predictor.predict(tl2cgen.DMatrix(rows, dtype="float64"))
        return result.reshape(len(rows), -1)

    return predict


def threshold_rows(estimator: Any, random: np.ndarray) -> np.ndarray:
    """Rows whose value of a split's feature sits on or next to that split's threshold.

    scikit-learn's trees compare ``float32(x) <= threshold`` with float64 thresholds (the
    midpoints of float32 training values): a runtime comparing in float32 throughout, or
    in float64 throughout, can take another branch there. For each distinct (feature,
    threshold): the threshold itself, rounded to 2 decimals (as a person would type it),
    rounded to float32, and the float32 values on either side; the other features come
    from ``random``.
    """
    trees = [estimator] if hasattr(estimator, "tree_") else list(np.ravel(estimator.estimators_))
    pairs = {
        (int(feature), float(threshold))
        for tree in trees
        for feature, threshold in zip(tree.tree_.feature, tree.tree_.threshold, strict=True)
        if feature >= 0
    }
    rows = []
    for index, (feature, threshold) in enumerate(sorted(pairs)):
        single = np.float32(threshold)
        for value in (
            threshold,
            round(threshold, 2),
            float(single),
            float(np.nextafter(single, np.float32(-np.inf))),
            float(np.nextafter(single, np.float32(np.inf))),
        ):
            row = random[(index * 5) % len(random)].copy()
            row[feature] = value
            rows.append(row)
    return np.array(rows)


def compare(subject: Subject, large: np.ndarray) -> None:
    """Largest |Δp| against scikit-learn and argmax disagreements on each set of rows."""
    reference = subject.estimator.predict_proba
    sets = {"held_out": subject.held_out, "large": large, "thresholds": subject.thresholds}
    for runner in subject.runners:
        if runner.predict is None or runner.runtime == SKLEARN:
            continue
        for kind, rows in sets.items():
            expected = reference(rows)
            try:
                found = np.asarray(runner.predict(rows), dtype=np.float64)
            except Exception as error:
                runner.error, runner.predict = f"prediction failed: {short(error)}", None
                break
            disagree = int((found.argmax(axis=1) != expected.argmax(axis=1)).sum())
            runner.checks[kind] = (float(np.abs(found - expected).max()), disagree)


def calls_per_sample(predict: Predict, row: np.ndarray) -> int:
    """How many 1-row calls take about ``SAMPLE_SECONDS`` (after a warm-up)."""
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SAMPLE_SECONDS / 4 or count < 3:
        predict(row)
        count += 1
    return max(3, int(count * SAMPLE_SECONDS / elapsed))


def measure(subjects_: list[Subject], large: np.ndarray, repeat: int) -> None:
    """Interleaved rounds: every runner of every model, 1 row then the large rows."""
    runners = [
        (runner, subject.held_out[:1])
        for subject in subjects_
        for runner in subject.runners
        if runner.predict is not None
    ]
    numbers = [calls_per_sample(runner.predict, row) for runner, row in runners]  # type: ignore[arg-type]
    for runner, _ in runners:
        runner.predict(large)  # type: ignore[misc]  # warm-up
    for round_ in range(repeat):
        shift = round_ % len(runners)
        for (runner, row), number in (list(zip(runners, numbers, strict=True)) * 2)[
            shift : shift + len(runners)
        ]:
            predict = runner.predict
            assert predict is not None  # noqa: S101 - filtered above
            started = time.perf_counter()
            for _ in range(number):
                predict(row)
            runner.one_row.append((time.perf_counter() - started) / number)
            started = time.perf_counter()
            predict(large)
            runner.large.append(time.perf_counter() - started)
        print(f"round {round_ + 1}/{repeat} done", file=sys.stderr, flush=True)


def diff_text(value: float) -> str:
    if value != value:  # NaN: not measured
        return "-"
    return "0" if value == 0 else f"{value:.1e}"


def agree_text(runner: Runner, held_out: int, large: int) -> str:
    held, random = runner.checks["held_out"][1], runner.checks["large"][1]
    if held == random == 0:
        return "yes"
    return f"no: {held}/{held_out} held out, {random:,}/{large:,} random"


def table(subjects_: list[Subject], large_rows: int) -> list[str]:
    """The main table and, per runner, whether it meets the adoption rule."""
    lines = [
        f"| model | runtime | input dtype | 1-row µs | {large_rows // 1000}k-row ms "
        "| speed-up vs scikit-learn (1 row / large) | max abs Δp held-out "
        f"| max abs Δp {large_rows // 1000}k | classes agree "
        f"| ≥{SPEEDUP:g}x and ≤{TOLERANCE:g} held out? |",
        "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for subject in subjects_:
        base = subject.runners[0]
        base_one, base_large = statistics.median(base.one_row), statistics.median(base.large)
        held_out = len(subject.held_out)
        for runner in subject.runners:
            head = f"| {subject.name} | {runner.runtime} | {runner.dtype} "
            if runner.predict is None:
                lines.append(head + f"| {runner.error} | | | | | | |")
                continue
            one, large = statistics.median(runner.one_row), statistics.median(runner.large)
            if runner is base:
                speed, rule, agree = "1.00x / 1.00x", "(baseline)", "(reference)"
            else:
                fast_one, fast_large = base_one / one, base_large / large
                speed = f"{fast_one:.2f}x / {fast_large:.2f}x"
                exact = runner.diff("held_out") <= TOLERANCE
                rule = f"1 row: {verdict(fast_one, exact)}; large: {verdict(fast_large, exact)}"
                agree = agree_text(runner, held_out, large_rows)
            lines.append(
                head + f"| {one * 1e6:,.1f} | {large * 1e3:,.1f} | {speed} "
                f"| {diff_text(runner.diff('held_out'))} | {diff_text(runner.diff('large'))} "
                f"| {agree} | {rule} |"
            )
    return lines


def verdict(speedup: float, exact: bool) -> str:
    if speedup >= SPEEDUP and exact:
        return "yes"
    reasons = ([] if speedup >= SPEEDUP else ["slow"]) + ([] if exact else ["inexact"])
    return "no (" + ", ".join(reasons) + ")"


def thresholds_table(subjects_: list[Subject]) -> list[str]:
    lines = [
        "| model | runtime | input dtype | rows | max abs Δp | argmax disagreements |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for subject in subjects_:
        for runner in subject.runners[1:]:
            if "thresholds" in runner.checks:
                diff, disagree = runner.checks["thresholds"]
                lines.append(
                    f"| {subject.name} | {runner.runtime} | {runner.dtype} "
                    f"| {len(subject.thresholds):,} | {diff_text(diff)} | {disagree:,} |"
                )
    return lines


def spread(subjects_: list[Subject]) -> list[str]:
    lines = [
        "| model | runtime | input dtype | 1-row µs min to max | spread | large ms min to max "
        "| spread |",
        "| --- | --- | --- | --- | ---: | --- | ---: |",
    ]
    for subject in subjects_:
        for runner in subject.runners:
            if runner.predict is None:
                continue
            cells = []
            for samples, scale in ((runner.one_row, 1e6), (runner.large, 1e3)):
                low, high, mid = min(samples), max(samples), statistics.median(samples)
                cells.append(
                    f"{low * scale:,.1f} to {high * scale:,.1f} | {(high - low) / mid:.0%}"
                )
            lines.append(
                f"| {subject.name} | {runner.runtime} | {runner.dtype} | "
                + " | ".join(cells)
                + " |"
            )
    return lines


def setup_and_sizes(subjects_: list[Subject], skops: dict[str, int]) -> list[str]:
    lines = [
        "| model | runtime | input dtype | setup seconds | files (bytes) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for subject in subjects_:
        name = f"{slug(subject.name)}.skops"
        lines.append(f"| {subject.name} | {SKLEARN} | float64 | - | {name}: {skops[name]:,} |")
        for runner in subject.runners[1:]:
            steps = ", ".join(f"{step} {seconds:.3f}" for step, seconds in runner.setup.items())
            files = ", ".join(f"{file}: {size:,}" for file, size in runner.files.items())
            lines.append(
                f"| {subject.name} | {runner.runtime} | {runner.dtype} | {steps or '-'} "
                f"| {files or '-'} |"
            )
    return lines


def environment(threadpools: list[dict[str, Any]]) -> list[str]:
    versions = []
    for module in ("sklearn", "numpy", "onnxruntime", "skl2onnx", "onnx", "treelite", "tl2cgen"):
        found = optional(module)
        versions.append(f"{module} {getattr(found, '__version__', '?') if found else 'missing'}")
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    pools = ", ".join(
        f"{pool['internal_api']} {pool['num_threads']} thread(s)" for pool in threadpools
    )
    return [
        f"- Python {platform.python_version()}; " + ", ".join(versions),
        f"- CPU: {cpu}; cores allowed: {sorted(os.sched_getaffinity(0))} "
        f"of {os.cpu_count()}; thread pools while measuring: {pools or 'none loaded'}",
        f"- command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-large", type=int, default=100_000, help="rows of the big call")
    parser.add_argument("--repeat", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random rows")
    parser.add_argument("--out", type=Path, help="folder for model files (temporary if unset)")
    args = parser.parse_args()
    need("onnxruntime"), need("skl2onnx")
    threadpoolctl = need("threadpoolctl")
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        found, x, skops, training = subjects(out)
        low, high = x.min(axis=0), x.max(axis=0)
        large = np.random.default_rng(args.seed).uniform(low, high, (args.rows_large, x.shape[1]))
        for subject in found:
            subject.thresholds = threshold_rows(subject.estimator, large)
            subject.runners = [
                sklearn_runner(subject.estimator),
                kernel_runner(subject.estimator),
                *onnx_runners(subject.estimator, subject.name, out),
                *treelite_runners(subject.estimator, subject.name, out),
            ]
        with threadpoolctl.threadpool_limits(1):
            pools = threadpoolctl.threadpool_info()
            for subject in found:
                compare(subject, large)
            measure(found, large, args.repeat)
        print("# Compiled runtimes against scikit-learn's predict_proba\n")
        print("\n".join(environment(pools)))
        print(
            f"- {args.repeat} interleaved rounds, medians; 1 row = a held-out Iris row, "
            f"large = {args.rows_large:,} rows uniform over Iris' feature ranges "
            f"(seed {args.seed}); every runtime starts from float64 rows; one thread each"
        )
        print(f"- gradient boosting trained through IrisClassifier.train in {training:.2f} s")
        for subject in found:
            print(f"- held-out rows of {subject.name}: {subject.split_check}")
        print("\n" + "\n".join(table(found, args.rows_large)))
        print(
            "\n## Rows on split thresholds\n\n"
            "Each distinct split threshold t of the model, its feature set to t, t rounded to "
            "2 decimals, float32(t) and the float32 values either side of it (other features "
            "random). scikit-learn compares float32(x) <= t with t in float64.\n\n"
            + "\n".join(thresholds_table(found))
        )
        print("\n## Spread over rounds\n\n" + "\n".join(spread(found)))
        print(
            "\n## Conversion and session setup, file sizes\n\n"
            + "\n".join(setup_and_sizes(found, skops))
        )
        if args.out:
            print(f"\nModel files kept in {args.out}")


if __name__ == "__main__":
    main()
