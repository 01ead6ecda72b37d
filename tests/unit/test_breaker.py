"""The breaker in front of storage: fail fast while storage fails, shed load while it is slow."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import pytest

from hello_birthday.storage import StorageUnavailable
from hello_birthday.storage.breaker import CircuitBreaker
from hello_birthday.storage.sqlite import SQLiteRepository


class ControlledRepository(SQLiteRepository):
    """Real SQLite whose reads can be told to fail or to wait for a signal first."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, timeout=1)
        self.failing = False
        self.gate: threading.Event | None = None
        self.calls = 0

    def get(self, key: str) -> date | None:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(timeout=10)
        if self.failing:
            raise StorageUnavailable("told to fail")
        return super().get(key)


@pytest.fixture
def inner(sqlite_path: Path) -> ControlledRepository:
    store = ControlledRepository(sqlite_path)
    store.save("alice", date(1990, 1, 1))
    return store


def test_opens_after_repeated_failures_and_closes_after_a_while(
    inner: ControlledRepository,
) -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        inner, max_concurrent=4, slow_after=1, threshold=3, open_seconds=1, clock=lambda: now[0]
    )
    inner.failing = True
    for _ in range(3):
        with pytest.raises(StorageUnavailable, match="told to fail"):
            breaker.get("alice")
    with pytest.raises(StorageUnavailable, match="failed repeatedly"):
        breaker.get("alice")
    assert inner.calls == 3  # the fourth call never reached storage
    breaker.check()  # readiness still asks storage itself
    inner.failing = False
    now[0] += 1.0
    assert breaker.get("alice") == date(1990, 1, 1)
    inner.failing = True
    with pytest.raises(StorageUnavailable, match="told to fail"):
        breaker.get("alice")  # one failure after a success does not open it again
    inner.failing = False
    assert breaker.get("alice") == date(1990, 1, 1)


def test_a_waiting_call_gets_its_turn_while_storage_is_quick(inner: ControlledRepository) -> None:
    breaker = CircuitBreaker(inner, max_concurrent=1, slow_after=5)
    inner.gate = threading.Event()
    first = threading.Thread(target=breaker.get, args=("alice",))
    first.start()
    threading.Timer(0.1, inner.gate.set).start()
    started = time.monotonic()
    assert breaker.get("alice") == date(1990, 1, 1)
    # Woken by the first call leaving, not by its wait running out at slow_after.
    assert time.monotonic() - started < 2.5
    first.join()


def test_a_waiting_call_is_refused_once_storage_is_slow(inner: ControlledRepository) -> None:
    refusals: list[str] = []
    breaker = CircuitBreaker(inner, max_concurrent=1, slow_after=0.2, on_refusal=refusals.append)
    inner.gate = threading.Event()
    stuck = threading.Thread(target=breaker.get, args=("alice",))
    stuck.start()
    time.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable, match="storage is slow"):
        breaker.get("alice")
    waited = time.monotonic() - started
    assert 0.1 <= waited < 1.0  # refused when the call ahead turned slow, not before
    with pytest.raises(StorageUnavailable, match="storage is slow"):
        breaker.get("alice")  # and at once after that
    inner.gate.set()
    stuck.join()
    assert breaker.get("alice") == date(1990, 1, 1)
    assert refusals == ["shedding", "shedding"]


def test_saves_go_through_the_breaker(inner: ControlledRepository) -> None:
    breaker = CircuitBreaker(inner, max_concurrent=2, slow_after=1)
    breaker.save("bob", date(2000, 2, 29))
    assert breaker.get("bob") == date(2000, 2, 29)
    assert breaker.engine == "sqlite"
    breaker.close()
