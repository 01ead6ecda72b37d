"""A Repository decorator that records latency and failures of every storage call."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import ParamSpec, TypeVar

from hello_birthday.observability import Metrics
from hello_birthday.storage.port import Repository, StorageUnavailable

T = TypeVar("T")
P = ParamSpec("P")
_OPERATIONS = ("get", "save", "check")


class InstrumentedRepository:
    """Times each call and counts StorageUnavailable by engine and operation."""

    def __init__(self, inner: Repository, metrics: Metrics) -> None:
        self.engine = inner.engine
        self._inner = inner
        self._tally = metrics.tally
        for operation in _OPERATIONS:
            # Every operation's series exists from the start, at zero, before its first call.
            metrics.storage_latency.labels(inner.engine, operation)
        # Children resolved once: looking labels up on every call is measurable on the hot path.
        self._errors = {op: metrics.storage_errors.labels(inner.engine, op) for op in _OPERATIONS}

    def save(self, key: str, born: date) -> None:
        self._observe("save", self._inner.save, key, born)

    def get(self, key: str) -> date | None:
        return self._observe("get", self._inner.get, key)

    def check(self) -> None:
        self._observe("check", self._inner.check)

    def close(self) -> None:
        self._inner.close()

    def _observe(
        self, operation: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        # The call and its arguments rather than a closure: one fewer function per request.
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        except StorageUnavailable:
            self._errors[operation].inc()
            raise
        finally:
            self._tally.storage_call(self.engine, operation, time.perf_counter() - started)
