"""A Repository decorator that sheds load while storage is failing or slow."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import ParamSpec, TypeVar

from hello_birthday.storage.port import CallRefused, Repository, StorageUnavailable

T = TypeVar("T")
P = ParamSpec("P")


class CircuitBreaker:
    """Keeps worker threads free for health checks when storage is slow or failing.

    When storage is slow, every request holds a worker thread for the whole timeout and its
    retries, and new requests, health checks included, queue behind them. So:

    - at most `max_concurrent` calls may be in storage; another call waits for a place while
      the calls in storage are young, but is refused as soon as the oldest of them has taken
      longer than `slow_after` (storage is slow, so waiting would only pile up threads);
    - after `threshold` failures in a row, calls are refused for `open_seconds` without
      trying storage.

    Refusals are CallRefused, a StorageUnavailable that clients see as 503 with Retry-After;
    on_refusal hears each one's reason, so they can be counted apart from storage's failures.
    """

    def __init__(
        self,
        inner: Repository,
        *,
        max_concurrent: int,
        slow_after: float,
        threshold: int = 3,
        open_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        on_refusal: Callable[[str], object] = lambda reason: None,
    ) -> None:
        self.engine = inner.engine
        self._inner = inner
        self._max_concurrent = max_concurrent
        self._slow_after = slow_after
        self._threshold = threshold
        self._open_seconds = open_seconds
        self._clock = clock
        self._on_refusal = on_refusal
        # Entering and leaving take the plain lock (C, no Python frames); only a call that must
        # wait uses the condition, and a leaving call notifies only when one is waiting.
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiting = 0
        self._started: dict[int, float] = {}
        self._call_ids = itertools.count()
        self._failures = 0
        self._open_until = float("-inf")

    def save(self, key: str, born: date) -> None:
        self._call(self._inner.save, key, born)

    def get(self, key: str) -> date | None:
        return self._call(self._inner.get, key)

    def check(self) -> None:
        # Readiness must see storage as it is, not as the breaker remembers it.
        self._inner.check()

    def close(self) -> None:
        self._inner.close()

    def _call(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        call_id = self._enter()
        try:
            result = call(*args, **kwargs)
        except StorageUnavailable:
            with self._lock:
                self._failures += 1
                if self._failures >= self._threshold:
                    self._open_until = self._clock() + self._open_seconds
            raise
        finally:
            with self._lock:
                del self._started[call_id]
                if self._waiting:
                    self._changed.notify()
        if self._failures:
            with self._lock:
                self._failures = 0
        return result

    def _enter(self) -> int:
        with self._lock:
            while True:
                now = self._clock()
                if now < self._open_until:
                    raise self._refused("open", "storage failed repeatedly; not calling it for now")
                if len(self._started) < self._max_concurrent:
                    call_id = next(self._call_ids)
                    self._started[call_id] = now
                    return call_id
                waited_longest = now - min(self._started.values())
                if waited_longest >= self._slow_after:
                    raise self._refused(
                        "shedding", "storage is slow; too many calls are waiting on it"
                    )
                # Woken by a call leaving, or when the oldest call turns slow.
                self._waiting += 1
                try:
                    self._changed.wait(timeout=self._slow_after - waited_longest)
                finally:
                    self._waiting -= 1

    def _refused(self, reason: str, detail: str) -> CallRefused:
        self._on_refusal(reason)
        return CallRefused(reason, detail)
