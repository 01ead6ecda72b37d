"""The batched hot-path metrics publish exactly what one instrument call per event would have."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Gauge, Histogram

from hello_birthday.observability import Metrics
from hello_birthday.observability.tally import PUBLISH_SECONDS

BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0)


def _samples(
    registry: CollectorRegistry, name: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        if family.name == name
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


# Every bound itself and either side of it: observe() counts a value equal to a bound in it.
EDGES = [edge for bound in BOUNDS for edge in (bound - 1e-9, bound, bound + 1e-9)] + [0.0, 9.9]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(EDGES) | st.floats(0, 10, allow_nan=False), max_size=60))
def test_request_latency_matches_observe_call_by_call(durations: list[float]) -> None:
    metrics = Metrics(None)
    reference = CollectorRegistry()
    expected = Histogram(
        "hello_http_request_duration_seconds",
        "same",
        ["method", "route"],
        buckets=BOUNDS,
        registry=reference,
    )
    for elapsed in durations:
        metrics.tally.request_started()
        metrics.tally.request_finished("GET", "/hello/<username>", "200", elapsed)
        expected.labels("GET", "/hello/<username>").observe(elapsed)
    metrics.tally.publish()
    got = _samples(metrics.registry, "hello_http_request_duration_seconds")
    want = _samples(reference, "hello_http_request_duration_seconds")
    assert got.keys() == want.keys()
    for key, value in want.items():
        # The sum is added in one step rather than one per call: equal up to rounding.
        assert abs(got[key] - value) <= 1e-9 * max(1.0, abs(value)), key


def test_counts_storage_calls_and_in_flight_by_labels() -> None:
    metrics = Metrics(None)
    tally = metrics.tally
    for _ in range(3):
        tally.request_started()
    tally.request_finished("PUT", "/hello/<username>", "204", 0.002)
    tally.request_finished("GET", "/hello/<username>", "404", 0.2)
    tally.storage_call("sqlite", "get", 0.0004)
    tally.storage_call("sqlite", "get", 0.7)
    tally.publish()
    value = metrics.registry.get_sample_value
    assert value("hello_http_requests_in_flight") == 1
    route = "/hello/<username>"
    put = {"method": "PUT", "route": route, "status": "204"}
    assert value("hello_http_requests_total", put) == 1
    assert (
        value("hello_http_requests_total", {"method": "GET", "route": route, "status": "404"}) == 1
    )
    storage = {"engine": "sqlite", "operation": "get"}
    assert value("hello_storage_operation_duration_seconds_count", storage) == 2
    assert value("hello_storage_operation_duration_seconds_bucket", {**storage, "le": "0.001"}) == 1
    assert value("hello_storage_operation_duration_seconds_bucket", {**storage, "le": "0.5"}) == 1
    assert value("hello_storage_operation_duration_seconds_bucket", {**storage, "le": "1.0"}) == 2
    # Published again with nothing new: nothing doubles.
    tally.publish()
    assert value("hello_storage_operation_duration_seconds_count", storage) == 2
    tally.request_finished("GET", "/healthz", "200", 0.001)
    tally.publish()
    assert value("hello_http_requests_in_flight") == 0


def test_a_scrape_sees_this_workers_requests_at_once() -> None:
    metrics = Metrics(None)
    metrics.tally.request_started()
    metrics.tally.request_finished("GET", "/healthz", "200", 0.001)
    text = metrics.exposition().decode()
    assert 'hello_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text


def test_the_worker_publishes_without_a_scrape() -> None:
    metrics = Metrics(None)
    metrics.tally.request_started()
    metrics.tally.request_finished("GET", "/healthz", "200", 0.001)
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    deadline = time.monotonic() + 20 * PUBLISH_SECONDS
    while metrics.registry.get_sample_value("hello_http_requests_total", labels) != 1:
        assert time.monotonic() < deadline, "never published"
        time.sleep(PUBLISH_SECONDS / 4)


def test_in_flight_is_the_gauge_prometheus_merges_across_workers() -> None:
    # livesum: a dead worker's requests stop counting (server.py retires its file).
    gauge = Metrics(None).in_flight
    assert isinstance(gauge, Gauge)
    assert gauge._multiprocess_mode == "livesum"
