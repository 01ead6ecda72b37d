"""Numbers and verdicts from recorded outcomes."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tools.rehearsal.load import Outcome, read_outcomes

ROOT = Path(__file__).resolve().parents[2]
PROBLEM_JSON = "application/problem+json"


def percentile(values: Iterable[float], share: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    """Seconds as whole milliseconds for the report."""
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def succeeded(outcome: Outcome) -> bool:
    """The answer the request was for: 204 for a PUT, 200 for a GET."""
    return outcome.status == (204 if outcome.method == "PUT" else 200)


def is_clean_503(outcome: Outcome) -> bool:
    """A 503 from the service itself: a problem document that says when to retry."""
    return (
        outcome.status == 503
        and (outcome.content_type or "").startswith(PROBLEM_JSON)
        and outcome.retry_after is not None
    )


def describe(outcomes: Iterable[Outcome]) -> str:
    """Counts by answer, e.g. `204: 4410, 200: 4388, refused: 3`."""
    counts = Counter(str(o.status) if o.status is not None else o.error for o in outcomes)
    return ", ".join(f"{key}: {count}" for key, count in sorted(counts.items())) or "none"


def between(outcomes: Iterable[Outcome], start: float, end: float) -> list[Outcome]:
    """Requests that were due in [start, end)."""
    return [o for o in outcomes if start <= o.due < end]


@dataclass
class Check:
    """One expectation and what was measured against it."""

    expectation: str
    passed: bool
    measured: str


@dataclass
class Result:
    """A scenario's numbers and verdict."""

    title: str
    story: str
    counter_case: bool = False
    numbers: list[tuple[str, str]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Every expectation held (for a counter-case: the breakage was detected)."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def verdict(self) -> str:
        """PASS, FAIL, or for the counter-case DETECTED / NOT DETECTED."""
        if self.counter_case:
            return "DETECTED" if self.passed else "NOT DETECTED (FAIL)"
        return "PASS" if self.passed else "FAIL"

    def expect(self, expectation: str, passed: bool, measured: str) -> None:
        """Record one expectation."""
        self.checks.append(Check(expectation, passed, measured))

    def number(self, name: str, value: object) -> None:
        """Record one measured number."""
        self.numbers.append((name, str(value)))


class Timeline:
    """What the rehearsal did and when, relative to the start of the load."""

    def __init__(self) -> None:
        self.origin = time.monotonic()
        self.events: list[tuple[float, str]] = []

    def mark(self, what: str) -> float:
        """Note an event now; its monotonic time."""
        now = time.monotonic()
        self.events.append((now, what))
        return now

    def relative(self) -> list[tuple[float, str]]:
        """Events as seconds since the origin."""
        return sorted((at - self.origin, what) for at, what in self.events)


class LoadProcess:
    """The load generator, in a process of its own so it competes with nothing in ours."""

    def __init__(
        self,
        url: str,
        out: Path,
        *,
        rate: float,
        duration: float,
        put_share: float,
        prefix: str,
        timeout: float,
    ) -> None:
        self.out = out
        self.duration = duration
        self.timeout = timeout
        command = [sys.executable, "-m", "tools.rehearsal.load", "--url", url]
        command += ["--rate", str(rate), "--duration", str(duration), "--timeout", str(timeout)]
        command += ["--put-share", str(put_share), "--prefix", prefix, "--out", str(out)]
        self._process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != b"started":
            raise RuntimeError("the load generator did not start")
        self.started = time.monotonic()

    def stop(self) -> None:
        """Send no more requests; finish() still waits for the answers to those sent."""
        self._process.terminate()

    def finish(self) -> list[Outcome]:
        """Wait for the last request and read every outcome."""
        code = self._process.wait(timeout=self.duration + self.timeout + 60)
        if code != 0:
            raise RuntimeError(f"the load generator failed with exit code {code}")
        return read_outcomes(self.out)
