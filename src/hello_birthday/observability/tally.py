"""The hot path's metrics, counted in the worker and published to the instruments periodically.

Every request changes the in-flight gauge twice, the request counter, the latency histogram and
the storage histogram. On the instruments themselves (prometheus_client's multiprocess values),
each change is a write to the worker's shared file under a process-wide lock, after a `getpid`:
seven per GET, about a twentieth of its CPU. Here a request adds to plain numbers under one lock,
and a thread of the worker adds what accumulated to the instruments every PUBLISH_SECONDS, once
per label set however many requests there were. A scrape publishes the worker that answers it
first; what the other workers counted is at most PUBLISH_SECONDS old, much less than a scrape
interval, and a worker that crashes loses at most that much (as its access lines).
"""

from __future__ import annotations

import bisect
import threading
import time
from typing import TYPE_CHECKING

from hello_birthday.observability.worker_pid import current_pid

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

PUBLISH_SECONDS = 0.1


class _Pending:
    """Observations of one histogram child since the last publish: per-bucket counts, a sum."""

    __slots__ = ("counts", "total")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * buckets
        self.total = 0.0


class Tally:
    """Counts for the request and storage instruments, published in batches."""

    def __init__(
        self,
        *,
        requests: Counter,
        latency: Histogram,
        in_flight: Gauge,
        storage_latency: Histogram,
        bounds: tuple[float, ...],
    ) -> None:
        self._requests = requests
        self._latency = latency
        self._in_flight = in_flight
        self._storage_latency = storage_latency
        # The histograms' upper bounds with +Inf: an observation lands in the first bound at or
        # above it, as Histogram.observe counts it.
        self._bounds = (*bounds, float("inf"))
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], int] = {}
        self._latencies: dict[tuple[str, str], _Pending] = {}
        self._storage: dict[tuple[str, str], _Pending] = {}
        self._running = 0
        self._published_running = 0
        # Publishes from the thread and from a scrape apply in order, one at a time.
        self._publishing = threading.Lock()
        self._publisher_pid = 0

    def request_started(self) -> None:
        """One more request in flight."""
        with self._lock:
            self._running += 1
        if self._publisher_pid != current_pid():
            self._start_publisher()

    def request_finished(self, method: str, route: str, status: str, elapsed: float) -> None:
        """A request started with request_started ended with this status after `elapsed` s."""
        bucket = bisect.bisect_left(self._bounds, elapsed)
        with self._lock:
            self._running -= 1
            key = (method, route, status)
            self._counts[key] = self._counts.get(key, 0) + 1
            pending = self._latencies.get((method, route))
            if pending is None:
                pending = self._latencies[method, route] = _Pending(len(self._bounds))
            pending.counts[bucket] += 1
            pending.total += elapsed

    def storage_call(self, engine: str, operation: str, elapsed: float) -> None:
        """One storage call, successful or not, took `elapsed` seconds."""
        bucket = bisect.bisect_left(self._bounds, elapsed)
        with self._lock:
            pending = self._storage.get((engine, operation))
            if pending is None:
                pending = self._storage[engine, operation] = _Pending(len(self._bounds))
            pending.counts[bucket] += 1
            pending.total += elapsed

    def publish(self) -> None:
        """Add everything counted since the last publish to the instruments."""
        with self._publishing:
            with self._lock:
                counts, self._counts = self._counts, {}
                latencies, self._latencies = self._latencies, {}
                storage, self._storage = self._storage, {}
                running = self._running
            for request, count in counts.items():
                self._requests.labels(*request).inc(count)
            for route, pending in latencies.items():
                _add(self._latency.labels(*route), pending)
            for call, pending in storage.items():
                _add(self._storage_latency.labels(*call), pending)
            if running != self._published_running:
                self._in_flight.set(running)
                self._published_running = running

    def _start_publisher(self) -> None:
        with self._publishing:
            # A forked worker inherits the numbers but not the thread; checked again under the
            # lock, since several requests may arrive before the first thread has started.
            if self._publisher_pid == current_pid():
                return
            self._publisher_pid = current_pid()
            publisher = threading.Thread(target=self._publish_forever, name="metrics-publish")
            publisher.daemon = True
            publisher.start()

    def _publish_forever(self) -> None:
        while True:
            time.sleep(PUBLISH_SECONDS)
            self.publish()


def _add(child: Histogram, pending: _Pending) -> None:
    """Add a batch of observations to a histogram child, as that many observe() calls would.

    prometheus_client offers no batch observe; its child keeps one value per bucket (counts not
    cumulative) and one for the sum, and those values take an increment of any size.
    tests/unit/test_metrics_tally.py compares the result with observe() on every bucket.
    """
    child._sum.inc(pending.total)
    for bucket, count in enumerate(pending.counts):
        if count:
            child._buckets[bucket].inc(count)
