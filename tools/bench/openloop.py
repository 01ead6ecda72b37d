"""Open-loop GET load at a fixed rate, latency corrected for coordinated omission.

wrk is closed-loop: a connection sends its next request only once the previous answer is in, so
while a server stalls, no requests are sent and none is measured waiting. Here request i is due
at start + i / rate whatever happened before; its *corrected* latency runs from that due time to
the end of its answer, so time spent queued behind a stall counts, as it does for real clients.

`python -m tools.bench.openloop URL RATE SECONDS CONNECTIONS PREFIX USERS` prints one line,
`OPENLOOP_JSON {...}` (tools/bench/__main__.py reads it).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from tools.local.processes import username

GRACE_SECONDS = 5.0
# The dispatcher wakes this often and queues every request that has come due.
TICK_SECONDS = 0.001


class _Broken(Exception):
    """The connection cannot carry the next request."""


def _percentiles(values: list[float], keys: tuple[str, ...]) -> dict[str, float]:
    ordered = sorted(values)
    ranks = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}
    found: dict[str, float] = {}
    for key in keys:
        if not ordered:
            found[key] = 0.0
        elif key == "max":
            found[key] = round(ordered[-1] * 1000, 3)
        else:
            # Nearest rank: the smallest value with at least this share at or below it.
            index = max(0, min(len(ordered) - 1, -(-len(ordered) * ranks[key] // 1) - 1))
            found[key] = round(ordered[int(index)] * 1000, 3)
    return found


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise _Broken("no Content-Length")
    if length:
        await reader.readexactly(length)
    return status


async def _run(
    host: str, port: int, rate: float, seconds: float, connections: int, requests: list[bytes]
) -> dict[str, Any]:
    total = int(rate * seconds)
    due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    corrected: list[float] = []
    service: list[float] = []
    lag: list[float] = []
    errors = {"status": 0, "socket": 0, "unsent": 0}
    started = time.perf_counter()

    async def dispatch() -> None:
        sent = 0
        while sent < total:
            now = time.perf_counter()
            ready = min(total, int((now - started) * rate) + 1)
            for index in range(sent, ready):
                due.put_nowait((index, started + index / rate))
            sent = ready
            await asyncio.sleep(TICK_SECONDS)
        for _ in range(connections):
            due.put_nowait(None)

    async def connection() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while (item := await due.get()) is not None:
            index, intended = item
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                sending = time.perf_counter()
                status = await _exchange(reader, writer, requests[index % len(requests)])
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, _Broken):
                errors["socket"] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            finished = time.perf_counter()
            if status >= 400:
                errors["status"] += 1
            corrected.append(finished - intended)
            service.append(finished - sending)
            lag.append(max(0.0, sending - intended))
        if writer is not None:
            writer.close()

    workers = [asyncio.ensure_future(connection()) for _ in range(connections)]
    await dispatch()
    _, pending = await asyncio.wait(workers, timeout=GRACE_SECONDS)
    for worker in pending:
        worker.cancel()
    elapsed = time.perf_counter() - started
    unsent = 0
    while not due.empty():
        if due.get_nowait() is not None:
            unsent += 1
    errors["unsent"] = unsent
    return {
        "rate": rate,
        "seconds": seconds,
        "connections": connections,
        "sent": total - unsent,
        "completed": len(corrected),
        "achieved_rate": round(len(corrected) / elapsed, 1),
        "errors": errors,
        "corrected_ms": _percentiles(corrected, ("p50", "p90", "p99", "p999", "max")),
        "service_ms": _percentiles(service, ("p50", "p90", "p99", "p999", "max")),
        "send_lag_ms": _percentiles(lag, ("p50", "p99", "max")),
    }


def run(
    url: str, rate: float, seconds: float, connections: int, paths: list[str]
) -> dict[str, Any]:
    """GET the paths in turn at `rate` per second for `seconds`; the measured outcome."""
    host, _, port = url.removeprefix("http://").partition(":")
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode("latin-1") for path in paths
    ]
    try:
        import uvloop
    except ImportError:  # pragma: no cover - the project installs it
        return asyncio.run(_run(host, int(port), rate, seconds, connections, requests))
    return uvloop.run(_run(host, int(port), rate, seconds, connections, requests))


def main() -> None:
    """Parse the arguments, run, print the JSON line."""
    url, rate, seconds, connections, prefix, users = sys.argv[1:7]
    paths = [f"/hello/{username(prefix, index)}" for index in range(int(users))]
    measured = run(url, float(rate), float(seconds), int(connections), paths)
    print("OPENLOOP_JSON " + json.dumps(measured), flush=True)


if __name__ == "__main__":
    main()
