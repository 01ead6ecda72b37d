"""What the service needs from storage, whatever the engine."""

from __future__ import annotations

from datetime import date
from typing import Protocol


class StorageUnavailable(Exception):
    """Storage cannot answer now (down, throttled, timed out); the client should retry."""


class CallRefused(StorageUnavailable):
    """The breaker refused a call without trying storage: `reason` is "open" or "shedding"."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class Repository(Protocol):
    """Dates of birth by username key."""

    engine: str

    def save(self, key: str, born: date) -> None:
        """Store or replace a date of birth; durable once this returns."""

    def get(self, key: str) -> date | None:
        """The stored date of birth, or None; sees every save that has returned."""

    def check(self) -> None:
        """Raise StorageUnavailable unless storage answers a cheap request."""

    def close(self) -> None:
        """Release connections."""
