"""Open-loop HTTP load at a fixed rate, its latencies corrected for coordinated omission.

`python -m tools.bench.openloop URL RATE SECONDS CONNECTIONS PREFIX USERS` sends
GET /hello/<name> over CONNECTIONS keep-alive connections, request i due at t0 + i / RATE
whatever happened before, and prints one last line `OPENLOOP_JSON {...}`.

wrk is closed-loop: a connection sends its next request only once the last answer is in, so
while the server stalls nothing is sent and nothing is measured waiting. Here a request that is
due while every connection is busy waits in a queue, and *corrected* latency runs from when it
was due to the end of its answer; *service* latency (from the actual send) is what a closed-loop
tool would report, and *send lag* shows how far behind the schedule requests went out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
from urllib.parse import urlsplit

from tools.local.processes import username

# In-flight and queued requests get this long after the last one is due before they are given up.
GRACE_SECONDS = 5.0
# The dispatcher's period: fine enough that send lag measures the server, not the dispatcher,
# and coarse enough to cost nothing next to the requests it releases.
TICK_SECONDS = 0.001
_END_OF_HEADERS = b"\r\n\r\n"


class _Broken(Exception):
    """An answer this generator does not read (chunked, no length, garbled): drop the connection."""


def _percentiles(values: list[float], names: tuple[str, ...]) -> dict[str, float]:
    """Nearest-rank percentiles of seconds, in milliseconds."""
    ranks = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}
    ordered = sorted(values)
    result: dict[str, float] = {}
    for name in names:
        if not ordered:
            result[name] = 0.0
        elif name == "max":
            result[name] = round(ordered[-1] * 1000, 3)
        else:
            rank = max(math.ceil(ranks[name] * len(ordered)), 1)
            result[name] = round(ordered[rank - 1] * 1000, 3)
    return result


class _Load:
    """One run's schedule, queue and tallies, shared by the dispatcher and the workers."""

    def __init__(self, url: str, rate: float, seconds: float, paths: list[str]) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"URL must be http://host:port, not {url!r}")
        self.host, self.port = parts.hostname, parts.port
        netloc = parts.netloc.encode()
        # Built once: per-request formatting would be generator CPU taken from the server.
        self.requests = [
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + netloc + b"\r\n\r\n"
            for path in paths
        ]
        self.rate = rate
        self.total = math.floor(rate * seconds)
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self.t0 = 0.0
        self.taken = 0
        self.sent = 0
        self.status_errors = 0
        self.last_end = 0.0
        self.corrected: list[float] = []
        self.service: list[float] = []
        self.lag: list[float] = []

    async def dispatch(self) -> None:
        """Release every request whose time has come, waking each tick (not a timer apiece)."""
        released = 0
        while released < self.total:
            due = min(math.floor((time.perf_counter() - self.t0) * self.rate) + 1, self.total)
            put = self.queue.put_nowait
            for index in range(released, due):
                put(index)
            released = max(released, due)
            await asyncio.sleep(TICK_SECONDS)

    async def work(self) -> None:
        """Own one connection: take the next due request, send it, read the whole answer."""
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        requests, count, queue = self.requests, len(self.requests), self.queue
        try:
            while True:
                index = await queue.get()
                self.taken += 1
                try:
                    if writer is None or reader is None:
                        reader, writer = await asyncio.open_connection(self.host, self.port)
                    sent = time.perf_counter()
                    writer.write(requests[index % count])
                    self.sent += 1
                    head = await reader.readuntil(_END_OF_HEADERS)
                    status, length = _head(head)
                    if length:
                        await reader.readexactly(length)
                    ended = time.perf_counter()
                except (
                    OSError,
                    EOFError,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                    _Broken,
                ):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    continue
                finally:
                    queue.task_done()
                intended = self.t0 + index / self.rate
                self.corrected.append(ended - intended)
                self.service.append(ended - sent)
                self.lag.append(sent - intended)
                self.last_end = ended
                if status >= 400:
                    self.status_errors += 1
        finally:
            if writer is not None:
                writer.close()


def _head(head: bytes) -> tuple[int, int]:
    """Status and Content-Length from a header block; anything else unreadable is _Broken."""
    try:
        status = int(head[9:12])
    except ValueError:
        raise _Broken from None
    length = -1
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise _Broken
    if length < 0:
        raise _Broken
    return status, length


async def _run(
    url: str, rate: float, seconds: float, connections: int, paths: list[str], grace: float
) -> dict[str, object]:
    load = _Load(url, rate, seconds, paths)
    load.t0 = time.perf_counter()
    workers = [asyncio.create_task(load.work()) for _ in range(connections)]
    await load.dispatch()
    remaining = load.t0 + seconds + grace - time.perf_counter()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(load.queue.join(), max(remaining, 0.0))
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    completed = len(load.corrected)
    measured = max(load.last_end - load.t0, seconds) if completed else seconds
    return {
        "rate": rate,
        "seconds": seconds,
        "connections": connections,
        "sent": load.sent,
        "completed": completed,
        "achieved_rate": round(completed / measured, 3),
        "errors": {
            "status": load.status_errors,
            # Taken by a connection but never answered: refused, reset, garbled or still in
            # flight at the end, each lost to the client as surely as the others.
            "socket": load.taken - completed,
            "unsent": load.total - load.taken,
        },
        "corrected_ms": _percentiles(load.corrected, ("p50", "p90", "p99", "p999", "max")),
        "service_ms": _percentiles(load.service, ("p50", "p90", "p99", "p999", "max")),
        "send_lag_ms": _percentiles(load.lag, ("p50", "p99", "max")),
    }


def run(
    url: str,
    rate: float,
    seconds: float,
    connections: int,
    paths: list[str],
    grace: float = GRACE_SECONDS,
) -> dict[str, object]:
    """One open-loop run; the dict the OPENLOOP_JSON line prints."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_run(url, rate, seconds, connections, paths, grace))
    return uvloop.run(_run(url, rate, seconds, connections, paths, grace))


def main() -> None:
    """Parse the command line, run, print the result line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("rate", type=float)
    parser.add_argument("seconds", type=float)
    parser.add_argument("connections", type=int)
    parser.add_argument("prefix")
    parser.add_argument("users", type=int)
    arguments = parser.parse_args()
    paths = [f"/hello/{username(arguments.prefix, index)}" for index in range(arguments.users)]
    result = run(arguments.url, arguments.rate, arguments.seconds, arguments.connections, paths)
    print("OPENLOOP_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
