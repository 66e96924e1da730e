"""Prometheus metrics of a server, counted right across its worker processes.

:class:`Metrics` defines every metric mlapi exposes at ``/metrics``; the service layer
and the HTTP layer record into the one instance a server makes. With a folder (the
``metrics_dir`` that ``mlapi serve`` makes for each start), prometheus-client's
multiprocess mode is on: each process keeps its values in memory-mapped files there,
and a scrape, whichever worker answers it, adds up the files of all of them. Without
one (an app built in-process, as the tests do), the values live in this process only.

The request path records much more often than anything else: a request's latency, and
a model call's batch size and predicted classes. Those are tallied in this process's
memory (a dictionary entry and an addition) and added to the metrics once a second, a
few writes for thousands of requests, rather than two locked writes to the files per
request; a scrape adds in the tallies of the process that answers it first. Another
worker's last second may so be missing from a scrape, and is in the next one. Call
:meth:`Metrics.flush` before a process ends, not to lose its last second.
"""

import asyncio
import bisect
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from anyio import to_thread
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

#: The media type of a scrape: Prometheus's text format, which every version reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: Seconds of a request, from the first byte read to the last sent.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
#: Requests answered by one model call.
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Seconds to read, check and load a model file.
LOAD_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
#: Seconds of a training job, from its claim to its end.
JOB_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)

#: Seconds the request path's tallies wait before they are added to the metrics.
FLUSH_SECONDS = 1.0

#: The states a training job enters, as ``mlapi_training_jobs_total`` counts them.
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def use_directory(directory: Path) -> None:
    """Keep this process's metrics in files in ``directory`` from now on (multiprocess mode).

    For the life of the process, and before any metric is made: prometheus-client picks
    where a metric keeps its value when it is made.
    """
    # prometheus-client reads its folder from its environment variable.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def forget_process(pid: int, directory: Path) -> None:
    """Drop the per-process gauges of a worker that exited (its counts are kept)."""
    mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def clear_directory(directory: Path) -> None:
    """Make ``directory`` if it is missing, and remove the metric files a server left there."""
    directory.mkdir(parents=True, exist_ok=True)
    for file in directory.glob("*.db"):
        file.unlink()


class _Tally:
    """Observations of one histogram kept in memory until :meth:`flush` adds them to it.

    Args:
        histogram: The histogram (its labelled children get the counts).
    """

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._bounds: list[float] = list(histogram._upper_bounds)
        self._pending: dict[tuple[object, ...], list[float]] = {}

    def observe(self, labels: tuple[object, ...], value: float) -> None:
        """Count ``value`` in the bucket Prometheus would (the first bound at or above it)."""
        pending = self._pending.get(labels)
        if pending is None:
            pending = self._pending[labels] = [0.0] * (len(self._bounds) + 1)
        pending[bisect.bisect_left(self._bounds, value)] += 1
        pending[-1] += value

    def flush(self) -> None:
        """Add the counts kept to the histogram, as many ``observe`` calls would."""
        for labels, pending in self._pending.items():
            if not any(pending[:-1]):
                continue
            child = self._histogram.labels(*map(str, labels)) if labels else self._histogram
            # What Histogram.observe does, once per bucket rather than once per value.
            child._sum.inc(pending[-1])
            for index, count in enumerate(pending[:-1]):
                if count:
                    child._buckets[index].inc(count)
            pending[:] = [0.0] * len(pending)


class Metrics:
    """Every metric of a server, and its ``/metrics`` page.

    Args:
        directory: Folder shared by the server's worker processes (multiprocess mode);
            None to count in this process only.
    """

    def __init__(self, directory: Path | None = None) -> None:
        if directory is not None:
            use_directory(directory)
        self.directory = directory
        self.registry = CollectorRegistry()
        options: dict[str, Any] = {"registry": self.registry}
        self.request_seconds = Histogram(
            "mlapi_http_request_duration_seconds",
            "Seconds to answer an HTTP request, by route template, method and status; "
            "its _count counts the requests.",
            ["route", "method", "status"],
            buckets=REQUEST_BUCKETS,
            **options,
        )
        self.batch_size = Histogram(
            "mlapi_predict_batch_size",
            "Prediction requests answered by one model call.",
            buckets=BATCH_BUCKETS,
            **options,
        )
        self.predictions = Counter(
            "mlapi_predictions", "Rows predicted, by predicted class.", ["class"], **options
        )
        self.model_info = Gauge(
            "mlapi_model_info",
            "1 for the model version a process serves (0 for those it served before).",
            ["version", "algorithm", "dataset"],
            multiprocess_mode="liveall",
            **options,
        )
        # Made by the first process to serve (a worker, not the supervisor that loaded
        # the model before forking it): a series per serving process.
        self.model_fallback: Gauge | None = None
        self.model_load_seconds = Histogram(
            "mlapi_model_load_duration_seconds",
            "Seconds to read, check and load a model version's file.",
            buckets=LOAD_BUCKETS,
            **options,
        )
        self.training_jobs = Counter(
            "mlapi_training_jobs", "Training jobs entering each state.", ["state"], **options
        )
        self.training_jobs_running = Gauge(
            "mlapi_training_jobs_running",
            "Training jobs running in the server's training processes.",
            multiprocess_mode="livesum",
            **options,
        )
        self.training_job_seconds = Histogram(
            "mlapi_training_job_duration_seconds",
            "Seconds from a training job's start to its end, by how it ended.",
            ["state"],
            buckets=JOB_BUCKETS,
            **options,
        )
        for state in JOB_STATES:  # every series in the first scrape, at 0
            self.training_jobs.labels(state)
        for state in JOB_STATES[2:]:
            self.training_job_seconds.labels(state)
        self._requests = _Tally(self.request_seconds)
        self._batches = _Tally(self.batch_size)
        self._predicted: dict[str, int] = {}
        self._flush_due = False
        self._served: tuple[str, str, str] | None = None

    # -- The request path: tallied, added once a second -----------------------------------
    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count an HTTP request and its latency (cheap: tallied in memory)."""
        self._requests.observe((route, method, status), seconds)
        if not self._flush_due:
            self._flush_soon()

    def model_call(self, requests: int, classes: Iterable[tuple[str, int]]) -> None:
        """Count a model call: how many requests it answered, how many rows of each class.

        Args:
            requests: Requests the call answered together.
            classes: Each predicted class's name, and the rows predicted as it.
        """
        self._batches.observe((), requests)
        predicted = self._predicted
        for name, rows in classes:
            predicted[name] = predicted.get(name, 0) + rows
        if not self._flush_due:
            self._flush_soon()

    def _flush_soon(self) -> None:
        self._flush_due = True
        try:
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
        except RuntimeError:  # no event loop to wait on
            self.flush()

    def flush(self) -> None:
        """Add what the request path tallied to the metrics (call from the event loop)."""
        self._flush_due = False
        self._requests.flush()
        self._batches.flush()
        for name, rows in self._predicted.items():
            if rows:
                self.predictions.labels(name).inc(rows)
                self._predicted[name] = 0

    # -- Everything else: as it happens --------------------------------------------------------
    def serving(self, version: int, algorithm: str, dataset: str, fallback: bool) -> None:
        """Say which version this process serves, and whether it is a fall-back."""
        labels = (str(version), algorithm, dataset)
        if self._served is not None and self._served != labels:
            self.model_info.labels(*self._served).set(0)
        self.model_info.labels(*labels).set(1)
        if self.model_fallback is None:
            self.model_fallback = Gauge(
                "mlapi_model_fallback",
                "1 while a process serves another version than the active one, whose "
                "file it refused.",
                multiprocess_mode="liveall",
                registry=self.registry,
            )
        self.model_fallback.set(1 if fallback else 0)
        self._served = labels

    def model_loaded(self, seconds: float) -> None:
        """Count a model file loaded, and the seconds it took."""
        self.model_load_seconds.observe(seconds)

    def job_entered(self, state: str, count: int = 1) -> None:
        """Count training jobs entering a state (``queued``, ``running``, ...)."""
        self.training_jobs.labels(state).inc(count)

    def job_started(self) -> None:
        """Count a training job this process started running."""
        self.job_entered("running")
        self.training_jobs_running.inc()

    def job_ended(self, state: str | None, seconds: float) -> None:
        """Count a training job this process ran that ended (succeeded, failed or cancelled).

        A job ``None`` ended was put back in the queue unstarted: it is only no longer
        running here.
        """
        self.training_jobs_running.dec()
        if state is not None:
            self.job_entered(state)
            self.training_job_seconds.labels(state).observe(seconds)

    # -- Scrapes ----------------------------------------------------------------------------
    async def page(self) -> bytes:
        """The ``/metrics`` page: every metric, this process's tallies added in first."""
        self.flush()
        return await to_thread.run_sync(self.exposition)

    def exposition(self) -> bytes:
        """Write every metric of the server in Prometheus's text format.

        Blocks (it reads the worker processes' files): :meth:`page` calls it in a thread.
        """
        if self.directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.directory))  # type: ignore[no-untyped-call]
        return generate_latest(registry)
