"""The Prometheus instruments, shared by every worker process through files."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from hello_birthday.observability.tally import Tally

# 0.3 is the latency SLO's threshold (docs/slo.md): the alerts count requests at or under it.
_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip


class Metrics:
    """The service's Prometheus instruments, shared by every worker process through files."""

    def __init__(self, multiprocess_dir: Path | None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hello_http_requests",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hello_http_request_duration_seconds",
            "Time to produce a response, by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "hello_http_requests_in_flight",
            "Requests being served right now.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.storage_latency = Histogram(
            "hello_storage_operation_duration_seconds",
            "Time spent in storage calls, by engine and operation.",
            ["engine", "operation"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.storage_errors = Counter(
            "hello_storage_errors",
            "Storage calls that failed, by engine and operation.",
            ["engine", "operation"],
            registry=self.registry,
        )
        self.storage_refusals = Counter(
            "hello_storage_refusals",
            "Storage calls the breaker refused without trying, by reason: open after repeated "
            "failures, or shedding while storage is slow.",
            ["reason"],
            registry=self.registry,
        )
        self.threads = Gauge(
            "hello_http_threads",
            "Threads serving requests in all workers; requests in flight beyond this many queue.",
            registry=self.registry,
            # Every worker reports the same total, so a respawned worker is not counted twice.
            multiprocess_mode="max",
        )
        self.http_refusals = Counter(
            "hello_http_refusals",
            "Requests the server answered without the application, by reason: a body that did "
            "not arrive in time or broke off, or too many requests already waiting (overloaded).",
            ["reason"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "hello_auth_failures",
            "Requests refused by authentication or authorisation, by reason.",
            ["reason"],
            registry=self.registry,
        )

        # The request path counts into this; it publishes to the instruments above.
        self.tally = Tally(
            requests=self.requests,
            latency=self.latency,
            in_flight=self.in_flight,
            storage_latency=self.storage_latency,
            bounds=_LATENCY_BUCKETS,
        )

    def exposition(self) -> bytes:
        """The text format, merged across worker processes when there are several."""
        self.tally.publish()
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            merged, path=str(self.multiprocess_dir)
        )
        return generate_latest(merged)
