"""The metrics: tallies add up as prometheus-client's own observations would; gauges follow."""

import asyncio
import random

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mlapi import metrics as metrics_module
from mlapi.metrics import REQUEST_BUCKETS, Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def _lines(registry: CollectorRegistry, prefix: str) -> list[str]:
    return [
        line
        for line in generate_latest(registry).decode().splitlines()
        if line.startswith(prefix) and not line.startswith(f"{prefix}created")
    ]


def test_tallied_requests_expose_exactly_what_observing_each_would() -> None:
    metrics = Metrics()
    registry = CollectorRegistry()
    reference = Histogram(
        "mlapi_http_request_duration_seconds",
        "reference",
        ["route", "method", "status"],
        buckets=REQUEST_BUCKETS,
        registry=registry,
    )
    rng = random.Random(17)  # noqa: S311 - test data, not cryptography
    # Bucket bounds themselves, and values between and beyond them.
    values = [*REQUEST_BUCKETS, 0.0, 11.0, *(rng.uniform(0, 12) for _ in range(500))]
    for index, seconds in enumerate(values):
        status = 200 if index % 3 else 404
        metrics.request("/v1/predict", "POST", status, seconds)
        reference.labels("/v1/predict", "POST", str(status)).observe(seconds)
        if index == 250:
            metrics.flush()  # a flush half-way through counts nothing twice

    metrics.flush()

    prefix = "mlapi_http_request_duration_seconds_"
    mine = _lines(metrics.registry, prefix)
    assert len(mine) == 2 * (len(REQUEST_BUCKETS) + 3)  # buckets, +Inf, sum, count
    assert mine == _lines(registry, prefix)


def test_requests_are_tallied_on_the_event_loop_and_added_after_a_moment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metrics_module, "FLUSH_SECONDS", 0.05)
    metrics = Metrics()
    count = (
        "mlapi_http_request_duration_seconds_count",
        (("method", "POST"), ("route", "/predict"), ("status", "200")),
    )

    async def serve() -> tuple[bool, float | None]:
        metrics.request("/predict", "POST", 200, 0.002)
        at_once = count in _samples(metrics)
        for _ in range(100):  # the tally's timer fires on the loop
            await asyncio.sleep(0.01)
            if count in _samples(metrics):
                break
        return at_once, _samples(metrics).get(count)

    assert asyncio.run(serve()) == (False, 1)


def test_requests_without_an_event_loop_are_added_at_once() -> None:
    metrics = Metrics()
    metrics.request("/predict", "POST", 200, 0.002)
    count = (
        "mlapi_http_request_duration_seconds_count",
        (("method", "POST"), ("route", "/predict"), ("status", "200")),
    )
    assert _samples(metrics)[count] == 1


def test_model_calls_count_batch_sizes_and_rows_by_class() -> None:
    metrics = Metrics()
    metrics.model_call(1, [("setosa", 1)])
    metrics.model_call(3, [("setosa", 2), ("virginica", 5)])
    metrics.flush()

    samples = _samples(metrics)
    assert samples[("mlapi_predictions_total", (("class", "setosa"),))] == 3
    assert samples[("mlapi_predictions_total", (("class", "virginica"),))] == 5
    assert samples[("mlapi_predict_batch_size_count", ())] == 2
    assert samples[("mlapi_predict_batch_size_sum", ())] == 4
    assert samples[("mlapi_predict_batch_size_bucket", (("le", "2.0"),))] == 1


def test_served_version_moves_and_the_fallback_gauge_follows() -> None:
    metrics = Metrics()
    assert metrics.model_fallback is None  # no series before the process serves

    metrics.serving(3, "decision_tree", "iris", fallback=False)
    metrics.serving(2, "gradient_boosting", "iris", fallback=True)

    samples = _samples(metrics)
    info = "mlapi_model_info"
    old = (("algorithm", "decision_tree"), ("dataset", "iris"), ("version", "3"))
    new = (("algorithm", "gradient_boosting"), ("dataset", "iris"), ("version", "2"))
    assert (samples[(info, old)], samples[(info, new)]) == (0, 1)
    assert samples[("mlapi_model_fallback", ())] == 1


def test_training_jobs_count_by_state_and_a_requeued_one_only_stops_running() -> None:
    metrics = Metrics()
    samples = _samples(metrics)
    for state in ("queued", "running", "succeeded", "failed", "cancelled"):  # there from the start
        assert samples[("mlapi_training_jobs_total", (("state", state),))] == 0

    metrics.job_entered("queued")
    metrics.job_started()
    metrics.job_ended("succeeded", 12.5)
    metrics.job_started()
    metrics.job_ended(None, 0.5)  # put back in the queue unstarted

    samples = _samples(metrics)
    assert samples[("mlapi_training_jobs_total", (("state", "queued"),))] == 1
    assert samples[("mlapi_training_jobs_total", (("state", "running"),))] == 2
    assert samples[("mlapi_training_jobs_total", (("state", "succeeded"),))] == 1
    assert samples[("mlapi_training_jobs_running", ())] == 0
    seconds = "mlapi_training_job_duration_seconds"
    assert samples[(f"{seconds}_count", (("state", "succeeded"),))] == 1
    assert samples[(f"{seconds}_sum", (("state", "succeeded"),))] == 12.5
    assert samples[(f"{seconds}_count", (("state", "failed"),))] == 0
    assert samples[(f"{seconds}_count", (("state", "cancelled"),))] == 0


def test_model_loads_are_timed() -> None:
    metrics = Metrics()
    metrics.model_loaded(0.3)
    samples = _samples(metrics)
    assert samples[("mlapi_model_load_duration_seconds_count", ())] == 1
    assert samples[("mlapi_model_load_duration_seconds_bucket", (("le", "0.25"),))] == 0
    assert samples[("mlapi_model_load_duration_seconds_bucket", (("le", "0.5"),))] == 1
