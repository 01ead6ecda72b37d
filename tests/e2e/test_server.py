"""The real server over HTTP: contract, workers, logs, shutdown and crash safety."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from tools.local.dynalite import Dynalite
from tools.local.server import ROOT, Reply, ServerProcess, request

from hello_birthday.observability.tally import PUBLISH_SECONDS
from tests.e2e.conftest import StartServer

JSON = {"Content-Type": "application/json"}


def put(url: str, name: str, born: str, timeout: float = 10) -> Reply:
    body = json.dumps({"dateOfBirth": born}).encode()
    return request(f"{url}/hello/{name}", "PUT", body, JSON, timeout=timeout)


def metric(url: str, name: str, labels: str = "") -> float:
    text = request(url + "/metrics").body.decode()
    pattern = "^" + re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None, f"{name}{{{labels}}} not in /metrics"
    return float(match.group(1))


def test_round_trip_and_errors(start_server: StartServer) -> None:
    server = start_server()
    tomorrow = datetime.now().astimezone().date() + timedelta(days=1)
    born = tomorrow.replace(year=1990) if (tomorrow.month, tomorrow.day) != (2, 29) else None
    assert born is not None or pytest.skip("tomorrow is Feb 29")
    assert put(server.url, "Alice", born.isoformat()).status == 204
    reply = request(server.url + "/hello/alice")
    assert reply.status == 200
    assert reply.json() == {"message": "Hello, alice! Your birthday is in 1 day(s)"}
    missing = request(server.url + "/hello/nobody")
    assert missing.status == 404
    assert missing.headers["content-type"] == "application/problem+json"
    refused = request(server.url + "/hello/alice", "DELETE")
    assert refused.status == 405
    assert refused.headers["allow"] == "GET, HEAD, OPTIONS, PUT"
    assert request(server.url + "/docs").status == 200
    assert request(server.url + "/docs/swagger-ui-bundle.js").status == 200
    assert request(server.url + "/openapi.json").json()["openapi"] == "3.1.0"  # type: ignore[index]


def test_metrics_add_up_across_workers(start_server: StartServer) -> None:
    server = start_server(HELLO_WORKERS="2")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: request(server.url + "/healthz").status, range(200)))
    assert statuses == [200] * 200
    labels = 'method="GET",route="/healthz",status="200"'
    # The worker answering the scrape publishes first; the other within PUBLISH_SECONDS.
    deadline = time.monotonic() + 20 * PUBLISH_SECONDS
    while (counted := metric(server.url, "hello_http_requests_total", labels)) < 200:
        assert time.monotonic() < deadline, f"{counted} of 200 requests counted"
        time.sleep(PUBLISH_SECONDS / 2)
    assert counted == 200


def test_every_log_line_is_json_with_request_ids(start_server: StartServer) -> None:
    server = start_server()
    put(server.url, "bob", "1980-05-06")
    request(server.url + "/hello/bob", headers={"X-Request-ID": "e2e-trace"})
    server.stop()
    lines = server.log_lines()  # raises if any line is not JSON
    access = [line for line in lines if line.get("logger") == "hello_birthday.access"]
    assert any(line["request_id"] == "e2e-trace" for line in access)
    assert all("1980-05-06" not in json.dumps(line) for line in lines)
    assert {"server starting", "draining", "stopped"} <= {str(line["message"]) for line in lines}


def test_sigterm_drains_and_finishes_in_flight_requests(
    start_server: StartServer, tmp_path: Path
) -> None:
    database = tmp_path / "hello.sqlite3"
    server = start_server(
        HELLO_WORKERS="2",
        HELLO_THREADS="8",
        HELLO_DRAIN_SECONDS="1.5",
        HELLO_STORAGE_TIMEOUT="20",
    )
    # A writer holding the database lock keeps every PUT in flight until it lets go.
    blocker = sqlite3.connect(database, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    in_flight = 6
    with ThreadPoolExecutor(in_flight) as pool:
        futures = [
            pool.submit(put, server.url, f"user{'x' * n}", "1990-01-01", 30)
            for n in range(1, in_flight + 1)
        ]
        deadline = time.monotonic() + 10
        while metric(server.url, "hello_http_requests_in_flight") < in_flight + 1:
            assert time.monotonic() < deadline, "requests never got in flight"
            time.sleep(0.05)
        server.signal(signal.SIGTERM)
        time.sleep(0.3)
        assert request(server.url + "/readyz").status == 503
        # Still accepting during the drain, so late traffic from the balancer is served.
        assert request(server.url + "/healthz").status == 200
        time.sleep(2.0)  # past the drain: granian is now stopping with requests in flight
        blocker.execute("ROLLBACK")
        blocker.close()
        statuses = [future.result().status for future in futures]
    assert statuses == [204] * in_flight
    assert server.wait(timeout=30) == 0, server.output()
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        request(server.url + "/healthz", timeout=2)
    stored = sqlite3.connect(database).execute("SELECT COUNT(*) FROM birthdays").fetchone()
    assert stored == (in_flight,)


def test_acknowledged_writes_survive_kill_9(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(HELLO_WORKERS="2")
    acknowledged: list[str] = []
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            name = "crash" + "".join(chr(ord("a") + int(d)) for d in str(n))
            n += 1
            try:
                if put(server.url, name, "1999-12-31", timeout=5).status == 204:
                    acknowledged.append(name)
            except OSError:
                return

    writers = [threading.Thread(target=write) for _ in range(4)]
    for writer in writers:
        writer.start()
    time.sleep(1.0)
    server.kill_hard()
    stop.set()
    for writer in writers:
        writer.join()
    assert len(acknowledged) > 50
    restarted = start_server()
    for name in acknowledged:
        assert request(f"{restarted.url}/hello/{name}").status == 200, name


def test_dynamodb_outage_is_503_then_recovers(start_server: StartServer, tmp_path: Path) -> None:
    storage = Dynalite(data_dir=tmp_path / "dynalite").start()
    try:
        storage.create_table("hello-birthday")
        server = start_server(**storage.environment("hello-birthday"), HELLO_STORAGE_TIMEOUT="0.5")
        assert put(server.url, "dana", "1970-01-01").status == 204
        storage.stop()
        started = time.monotonic()
        reply = request(server.url + "/hello/dana")
        elapsed = time.monotonic() - started
        assert reply.status == 503
        assert reply.headers["retry-after"] == "1"
        assert reply.headers["content-type"] == "application/problem+json"
        assert elapsed < 5, "the storage timeouts bound the wait"
        assert put(server.url, "dana", "1971-01-01").status == 503
        time.sleep(1.1)  # readiness is cached for a second
        assert request(server.url + "/readyz").status == 503
        assert request(server.url + "/healthz").status == 200
        storage.start()
        time.sleep(1.1)
        assert request(server.url + "/readyz").status == 200
        reply = request(server.url + "/hello/dana")
        assert reply.status == 200
        assert date(1970, 1, 1).isoformat() not in reply.body.decode()
    finally:
        storage.stop()


def test_unusable_database_stops_startup_with_a_message(
    start_server: StartServer, tmp_path: Path
) -> None:
    not_a_database = tmp_path / "garbage.sqlite3"
    not_a_database.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(RuntimeError, match="server exited early") as raised:
        start_server(HELLO_SQLITE_PATH=str(not_a_database))
    assert "cannot open storage" in str(raised.value)


def test_healthcheck_command_for_containers(start_server: StartServer) -> None:
    server = start_server()
    command = [str(ROOT / ".venv" / "bin" / "hello-birthday"), "healthcheck"]
    env = {**os.environ, "HELLO_PORT": str(server.port)}
    assert subprocess.run(command, env=env, check=False, timeout=10).returncode == 0
    server.stop()
    assert subprocess.run(command, env=env, check=False, timeout=10).returncode == 1


def _workers(supervisor: int) -> list[int]:
    (granian,) = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [
        int(pid) for pid in Path(f"/proc/{granian}/task/{granian}/children").read_text().split()
    ]


def _healthz_within(url: str, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return request(url + "/healthz", timeout=seconds).status
        except (ConnectionError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_killed_worker_is_replaced_and_its_gauge_retired(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(HELLO_WORKERS="2", HELLO_THREADS="8", HELLO_STORAGE_TIMEOUT="20")
    before = _workers(server.pid)
    assert len(before) == 2
    # PUTs held in flight by a database lock, so the dead worker dies with requests counted.
    blocker = sqlite3.connect(tmp_path / "hello.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with ThreadPoolExecutor(6) as pool:
        futures = [
            pool.submit(put, server.url, f"held{'x' * n}", "1990-01-01", 30) for n in range(6)
        ]
        deadline = time.monotonic() + 10
        while metric(server.url, "hello_http_requests_in_flight") < 7:
            assert time.monotonic() < deadline, "requests never got in flight"
            time.sleep(0.05)
        os.kill(before[0], signal.SIGKILL)
        # The other worker keeps serving while the dead one is replaced. A connection the
        # kernel had already queued on the dead worker's socket is reset, as a balancer's
        # retry would see; the next one is served.
        assert _healthz_within(server.url, seconds=5) == 200
        blocker.execute("ROLLBACK")
        blocker.close()
        answers = [future.exception() or future.result().status for future in futures]
    # Only the dead worker's in-flight requests are lost, as cut connections, never as 5xx.
    assert all(a == 204 or isinstance(a, OSError) for a in answers), answers
    deadline = time.monotonic() + 15
    retired = "worker died; granian replaces it"
    while (
        len(_workers(server.pid)) < 2
        or before[0] in _workers(server.pid)
        or not any(line["message"] == retired for line in server.log_lines())
    ):
        assert time.monotonic() < deadline, f"worker not replaced: {_workers(server.pid)}"
        time.sleep(0.1)
    with pytest.raises(subprocess.TimeoutExpired):
        server.wait(timeout=0.1)  # the supervisor never stopped
    # Only this scrape is in flight: the dead worker's requests are no longer counted.
    assert metric(server.url, "hello_http_requests_in_flight") == 1
    assert put(server.url, "afterwards", "1990-01-01").status == 204


def test_log_lines_stay_whole_on_a_slow_pipe(tmp_path: Path) -> None:
    # stdout a pipe that a slow reader drains (a container log driver under pressure): the
    # workers block on a full pipe, which is when a large write is split around another's.
    pipe = tmp_path / "stdout.fifo"
    os.mkfifo(pipe)
    copy = tmp_path / "stdout.copy"

    def read_slowly() -> None:
        with pipe.open("rb") as source, copy.open("wb") as sink:
            while chunk := source.read(512):
                sink.write(chunk)
                time.sleep(0.002)

    reader = threading.Thread(target=read_slowly)
    reader.start()
    server = ServerProcess(
        {"HELLO_SQLITE_PATH": str(tmp_path / "hello.sqlite3"), "HELLO_WORKERS": "3"}, pipe
    )
    try:
        server.start()
        with ThreadPoolExecutor(12) as pool:
            statuses = list(
                pool.map(
                    lambda n: request(f"{server.url}/hello/nobody{'x' * (n % 9)}").status,
                    range(3000),
                )
            )
        assert statuses == [404] * 3000
    finally:
        server.stop()
        reader.join(timeout=60)
    lines = copy.read_bytes().split(b"\n")
    assert lines[-1] == b""
    broken = []
    for line in lines[:-1]:
        try:
            json.loads(line)
        except ValueError:
            broken.append(line)
    access = sum(b'"route": "/hello/<username>"' in line for line in lines)
    assert not broken, f"{len(broken)} of {len(lines) - 1} lines are not JSON: {broken[:2]}"
    assert access == 3000


def test_a_forced_stop_exits_non_zero(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(HELLO_SHUTDOWN_TIMEOUT="1", HELLO_STORAGE_TIMEOUT="60")
    blocker = sqlite3.connect(tmp_path / "hello.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the PUT stays in flight past the shutdown timeout
    try:
        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(put, server.url, "stuck", "1990-01-01", 60)
            deadline = time.monotonic() + 10
            while metric(server.url, "hello_http_requests_in_flight") < 2:
                assert time.monotonic() < deadline, "the request never got in flight"
                time.sleep(0.05)
            server.signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 1, server.output()
            assert isinstance(held.exception(), OSError)
    finally:
        blocker.close()
