"""The open-loop load generator: the rate it was asked for, and latency from each due time."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tools.bench.harness import Server
from tools.bench.openloop import run
from tools.local.ports import free_port
from tools.local.processes import username

from hello_birthday.storage.sqlite import SQLiteRepository

USERS = 50


@pytest.fixture
def bare_wsgi(tmp_path: Path) -> Iterator[str]:
    database = tmp_path / "hello.sqlite3"
    SQLiteRepository(database, timeout=1).close()
    with sqlite3.connect(database) as connection:
        connection.executemany(
            "INSERT INTO birthdays VALUES (?, '1990-05-17')",
            [(username("bench", index),) for index in range(USERS)],
        )
    port = free_port()
    command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--no-access-log"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--blocking-threads", "1", "tools.bench.reference_wsgi:application"]
    probe = f"/hello/{username('bench', 0)}"
    env = {"BENCH_SQLITE_PATH": str(database)}
    server = Server("bare", command, env, port, probe, tmp_path / "server.log").start()
    try:
        yield server.url
    finally:
        server.stop()


def _paths() -> list[str]:
    return [f"/hello/{username('bench', index)}" for index in range(USERS)]


def test_sends_at_the_rate_asked_and_reports_ordered_percentiles(bare_wsgi: str) -> None:
    measured = run(bare_wsgi, 200, 1.5, 4, _paths())
    assert measured["errors"] == {"status": 0, "socket": 0, "unsent": 0}
    assert measured["completed"] == measured["sent"] == 300
    assert 180 <= measured["achieved_rate"] <= 220
    for kind in ("corrected_ms", "service_ms"):
        spread = measured[kind]
        assert (
            0 < spread["p50"] <= spread["p90"] <= spread["p99"] <= spread["p999"] <= spread["max"]
        )


@pytest.fixture
def slow_server() -> Iterator[str]:
    """Answers each request 50 ms after reading it, one at a time per connection."""
    loop = asyncio.new_event_loop()
    port = free_port()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(0.05)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(asyncio.start_server(answer, "127.0.0.1", port))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(5)
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_time_queued_behind_a_slow_answer_counts(slow_server: str) -> None:
    # 50 requests due within a second, on one connection that takes 50 ms each: the last ones
    # wait about 1.5 s past their due time, though each is *served* in 50 ms.
    measured = run(slow_server, 50, 1.0, 1, ["/"])
    assert measured["completed"] == 50
    assert measured["service_ms"]["p99"] < 150
    assert measured["corrected_ms"]["p99"] > 1000
    assert measured["send_lag_ms"]["max"] > 1000
