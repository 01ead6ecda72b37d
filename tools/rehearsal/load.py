"""Open-loop HTTP load at a fixed rate, every response recorded; run as its own process.

Each request gets a fresh connection (`Connection: close`), so an error is always the error of
that one request: no pooled connection can hide or cause a failure, and nothing is retried.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from hello_birthday.domain import greeting
from tools.local.processes import username

SERVED_BY_HEADER = "x-served-by"


@dataclass
class Reply:
    """What came back on the wire."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Outcome:
    """One request of the load: when it was due, when it ended, and how."""

    index: int
    method: str
    user: str
    date_of_birth: str | None
    # time.monotonic() is one clock for every process on the machine, so these line up with the
    # rehearsal's own event times.
    due: float
    ended: float
    status: int | None
    error: str | None
    content_type: str | None
    retry_after: str | None
    served_by: str | None

    @property
    def latency(self) -> float:
        """Seconds from when the request was due (not sent), so queueing in the client counts."""
        return self.ended - self.due

    @property
    def failed(self) -> bool:
        """No answer at all, or a 5xx: what a user would see as the service being down."""
        return self.status is None or self.status >= 500


async def exchange(
    host: str,
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
) -> Reply:
    """One HTTP/1.1 request on a new connection; raises OSError or ValueError on failure."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode("ascii") + b"\r\n" + (body or b""))
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    if not raw:
        raise ConnectionResetError("closed without an answer")
    header_block, _, payload = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP status line: {lines[0][:60]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(int(parts[1]), headers, payload)


def classify(error: BaseException) -> str:
    """A short name for why a request got no HTTP answer."""
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, ConnectionResetError | BrokenPipeError | asyncio.IncompleteReadError):
        return "reset"
    if isinstance(error, ValueError):
        return "malformed"
    return type(error).__name__


class Load:
    """A fixed-rate mix of PUTs of new users and GETs of users already acknowledged."""

    def __init__(
        self,
        url: str,
        *,
        rate: float,
        duration: float,
        put_share: float,
        prefix: str,
        timeout: float,
        seed: int,
    ) -> None:
        target = urlsplit(url)
        self.host = target.hostname or "127.0.0.1"
        self.port = target.port or 80
        self.rate = rate
        self.count = round(rate * duration)
        self.put_share = put_share
        self.prefix = prefix
        self.timeout = timeout
        self.random = random.Random(seed)
        self.acknowledged: list[str] = []
        self.outcomes: list[Outcome] = []
        self.today = datetime.now(UTC).date()

    async def run(self) -> list[Outcome]:
        """Send every request at its due time, whatever happened to the previous ones."""
        start = time.monotonic()
        stopping = asyncio.Event()
        # SIGTERM ends the load early (the rehearsal stops it once the roll is over); requests
        # already sent still get their answer recorded.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
        print("started", flush=True)
        tasks = []
        for index in range(self.count):
            if stopping.is_set():
                break
            due = start + index / self.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(self._one(index, due)))
        await asyncio.gather(*tasks)
        return sorted(self.outcomes, key=lambda outcome: outcome.index)

    async def _one(self, index: int, due: float) -> None:
        if not self.acknowledged or self.random.random() < self.put_share:
            method, user = "PUT", username(self.prefix, index)
            born: date | None = self.today - timedelta(days=self.random.randint(1, 36500))
        else:
            method, user, born = "GET", self.random.choice(self.acknowledged), None
        body = None if born is None else json.dumps({"dateOfBirth": born.isoformat()}).encode()
        reply: Reply | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.timeout):
                reply = await exchange(self.host, self.port, method, f"/hello/{user}", body)
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError) as failure:
            error = classify(failure)
        if method == "PUT" and reply is not None and reply.status == 204:
            self.acknowledged.append(user)
        headers = reply.headers if reply else {}
        self.outcomes.append(
            Outcome(
                index=index,
                method=method,
                user=user,
                date_of_birth=None if born is None else born.isoformat(),
                due=due,
                ended=time.monotonic(),
                status=None if reply is None else reply.status,
                error=error,
                content_type=headers.get("content-type"),
                retry_after=headers.get("retry-after"),
                served_by=headers.get(SERVED_BY_HEADER),
            )
        )


def write_outcomes(path: Path, outcomes: Iterable[Outcome]) -> None:
    """One JSON object a line."""
    with path.open("w") as out:
        for outcome in outcomes:
            out.write(json.dumps(asdict(outcome)) + "\n")


def read_outcomes(path: Path) -> list[Outcome]:
    """The records a load process wrote."""
    return [Outcome(**json.loads(line)) for line in path.read_text().splitlines() if line]


async def unreadable(url: str, outcomes: list[Outcome], concurrency: int = 8) -> list[str]:
    """Every acknowledged PUT whose user does not greet back with the stored date, described."""
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    gate = asyncio.Semaphore(concurrency)
    today = datetime.now(UTC).date()

    async def check(outcome: Outcome) -> str | None:
        assert outcome.date_of_birth is not None
        expected = greeting(outcome.user, date.fromisoformat(outcome.date_of_birth), today)
        async with gate:
            try:
                async with asyncio.timeout(10):
                    reply = await exchange(host, port, "GET", f"/hello/{outcome.user}")
            except (OSError, ValueError, TimeoutError) as failure:
                return f"{outcome.user}: {classify(failure)}"
        if reply.status != 200:
            return f"{outcome.user}: HTTP {reply.status}"
        if json.loads(reply.body).get("message") != expected:
            return f"{outcome.user}: greeted as {reply.body[:80]!r}, expected {expected!r}"
        return None

    acknowledged = [o for o in outcomes if o.method == "PUT" and o.status == 204]
    results = await asyncio.gather(*(check(outcome) for outcome in acknowledged))
    return [problem for problem in results if problem is not None]


def main() -> None:
    """Run one load and write its outcomes; prints `started` when the first request is due."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--put-share", type=float, default=0.5)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()
    if not arguments.prefix.isalpha():
        parser.error("--prefix must be letters only")
    load = Load(
        arguments.url,
        rate=arguments.rate,
        duration=arguments.duration,
        put_share=arguments.put_share,
        prefix=arguments.prefix,
        timeout=arguments.timeout,
        seed=arguments.seed,
    )
    write_outcomes(arguments.out, asyncio.run(load.run()))
    sys.exit(0)


if __name__ == "__main__":
    main()
