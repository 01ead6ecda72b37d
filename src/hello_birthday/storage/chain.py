"""The storage chain requests go through: engine, then latency metrics, then the breaker."""

from __future__ import annotations

from dataclasses import dataclass

from hello_birthday.observability import Metrics
from hello_birthday.settings import Settings
from hello_birthday.storage.breaker import CircuitBreaker
from hello_birthday.storage.instrumented import InstrumentedRepository
from hello_birthday.storage.port import Repository


@dataclass(frozen=True, slots=True)
class StorageChain:
    """Each layer of the chain, so readiness and the benchmark can reach the one they need."""

    engine: Repository
    instrumented: InstrumentedRepository
    guarded: CircuitBreaker

    def layers(self) -> list[Repository]:
        """Outermost (what requests call) first."""
        return [self.guarded, self.instrumented, self.engine]


def build_chain(engine: Repository, settings: Settings, metrics: Metrics) -> StorageChain:
    """Wrap an engine as every worker wraps it."""
    instrumented = InstrumentedRepository(engine, metrics)
    # Two threads per worker stay out of storage's reach, so health checks and metrics are
    # answered while it is slow.
    guarded = CircuitBreaker(
        instrumented,
        max_concurrent=max(1, settings.threads - 2),
        # A call older than one attempt's timeout is already being retried: storage is slow.
        slow_after=settings.storage_timeout,
        on_refusal=lambda reason: metrics.storage_refusals.labels(reason).inc(),
    )
    return StorageChain(engine, instrumented, guarded)
