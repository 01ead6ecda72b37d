"""Health, readiness, metrics and logs, through the test client with real SQLite."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from hello_birthday.app import create_app
from hello_birthday.observability import configure_logging, format_log_time
from hello_birthday.ops import DRAIN_LOOK_SECONDS, Readiness
from hello_birthday.runtime import RuntimeDir
from hello_birthday.settings import Settings
from hello_birthday.storage import StorageUnavailable
from hello_birthday.storage.sqlite import SQLiteRepository

TODAY = date(2026, 11, 28)


def test_healthz(client: FlaskClient) -> None:
    reply = client.get("/healthz")
    assert reply.status_code == 200
    assert reply.get_json() == {"status": "ok"}


def test_readyz_when_storage_answers(client: FlaskClient) -> None:
    reply = client.get("/readyz")
    assert reply.status_code == 200
    assert reply.get_json() == {"status": "ready"}


def test_readyz_503_while_draining(sqlite_path: Path, tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    (runtime / "metrics").mkdir(parents=True)
    settings = Settings(sqlite_path=sqlite_path)
    client = create_app(settings, clock=lambda: TODAY, runtime=RuntimeDir(runtime)).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert "Connection" not in ready.headers
    RuntimeDir(runtime).drain_marker.touch()
    reply = client.get("/readyz")
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "1"
    assert reply.mimetype == "application/problem+json"
    assert "shutting down" in reply.get_json(force=True)["detail"]
    # Draining only affects readiness: requests still get their normal answers, each telling
    # a keep-alive client to reconnect (to a target that is not draining).
    healthz = client.get("/healthz")
    assert healthz.status_code == 200
    assert healthz.headers["Connection"] == "close"
    assert client.get("/hello/nobody").headers["Connection"] == "close"


class FlakyRepository(SQLiteRepository):
    """A real SQLite store whose check() can be told to fail, and counts its calls."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, timeout=1)
        self.failing = False
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if self.failing:
            raise StorageUnavailable("told to fail")
        super().check()


def test_readiness_is_cached_for_a_second(sqlite_path: Path) -> None:
    now = [100.0]
    store = FlakyRepository(sqlite_path)
    readiness = Readiness(store, None, cache_seconds=1.0, clock=lambda: now[0])
    assert readiness.problem() is None
    store.failing = True
    assert readiness.problem() is None  # cached
    assert store.checks == 1
    now[0] += 1.0
    assert readiness.problem() == "Storage is not answering: told to fail"
    assert store.checks == 2
    store.failing = False
    assert readiness.problem() is not None  # cached failure
    now[0] += 1.5
    assert readiness.problem() is None
    store.close()


def test_storage_outage_is_503_problem_with_retry_after(sqlite_path: Path) -> None:
    store = SQLiteRepository(sqlite_path, timeout=0.1)
    client = create_app(Settings(), repository=store, clock=lambda: TODAY).test_client()
    blocker = sqlite3.connect(sqlite_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        reply = client.put("/hello/alice", json={"dateOfBirth": "1990-01-01"})
        assert reply.status_code == 503
        assert reply.headers["Retry-After"] == "1"
        assert reply.get_json(force=True)["type"].endswith("storage-unavailable")
        # WAL readers are not blocked by a writer: reads still answer during the lock.
        assert client.get("/hello/alice").status_code == 404
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'hello_storage_errors_total{engine="sqlite",operation="save"} 1.0' in metrics
    assert 'hello_storage_errors_total{engine="sqlite",operation="get"} 0.0' in metrics
    store.close()


def test_unexpected_errors_are_500_problems_without_traces(
    sqlite_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")  # as the entry points do; create_app does not
    app = create_app(Settings(sqlite_path=sqlite_path), clock=lambda: TODAY)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    reply = app.test_client().get("/boom")
    assert reply.status_code == 500
    assert reply.mimetype == "application/problem+json"
    assert "secret internals" not in reply.get_data(as_text=True)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    error = next(line for line in logged if line["message"] == "unhandled error")
    assert "RuntimeError: secret internals" in error["exception"]


def test_metrics_use_route_templates_never_usernames(client: FlaskClient) -> None:
    client.put("/hello/secretname", json={"dateOfBirth": "1990-01-01"})
    client.get("/hello/secretname")
    client.open("/hello/x", method="BREW")
    text = client.get("/metrics").get_data(as_text=True)
    assert "secretname" not in text
    assert (
        'hello_http_requests_total{method="PUT",route="/hello/<username>",status="204"} 1.0' in text
    )
    assert 'hello_http_requests_total{method="OTHER",route="<unmatched>",status="405"}' in text
    assert "hello_http_request_duration_seconds_bucket" in text
    assert "hello_http_requests_in_flight" in text
    assert 'hello_storage_operation_duration_seconds_count{engine="sqlite",operation="get"}' in text


def test_metrics_carry_what_the_alerts_divide_by(sqlite_path: Path) -> None:
    settings = Settings(sqlite_path=sqlite_path, workers=3, threads=5)
    text = (
        create_app(settings, clock=lambda: TODAY)
        .test_client()
        .get("/metrics")
        .get_data(as_text=True)
    )
    # Saturation is in-flight over this; the latency SLO counts requests at or under 0.3 s.
    assert "hello_http_threads 15.0" in text
    assert 'le="0.3"' in text


def test_one_json_log_line_per_request_without_dates_of_birth(
    capsys: pytest.CaptureFixture[str], repository: SQLiteRepository
) -> None:
    configure_logging("INFO")  # as the entry points do; create_app does not
    # Built inside the test so its log handler writes to the captured stdout.
    client = create_app(Settings(), repository=repository, clock=lambda: TODAY).test_client()
    client.put(
        "/hello/alice", json={"dateOfBirth": "1987-06-05"}, headers={"X-Request-ID": "req-42"}
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    access = [line for line in lines if line["logger"] == "hello_birthday.access"]
    assert len(access) == 1
    entry = access[0]
    assert entry["request_id"] == "req-42"
    assert entry["method"] == "PUT"
    assert entry["route"] == "/hello/<username>"
    assert entry["status"] == 204
    assert entry["level"] == "INFO"
    assert isinstance(entry["duration_ms"], float)
    assert {"time", "message"} <= entry.keys()
    assert all("1987-06-05" not in json.dumps(line) for line in lines)


def test_other_log_lines_carry_the_request_id(
    sqlite_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")  # as the entry points do; create_app does not
    store = SQLiteRepository(sqlite_path, timeout=0.1)
    client = create_app(Settings(), repository=store, clock=lambda: TODAY).test_client()
    blocker = sqlite3.connect(sqlite_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        client.put(
            "/hello/alice", json={"dateOfBirth": "1990-01-01"}, headers={"X-Request-ID": "trace-me"}
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    warning = next(line for line in lines if line["message"] == "storage unavailable")
    assert warning["request_id"] == "trace-me"
    assert warning["level"] == "WARNING"
    store.close()


def test_exceptions_are_logged_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    from hello_birthday.observability import configure_logging

    configure_logging("INFO")
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("test").exception("failed")
    entry = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert entry["message"] == "failed"
    assert "ValueError: bad" in entry["exception"]


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def testformat_log_times_read_as_datetime_writes_them(created: float) -> None:
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert format_log_time(created) == expected


def test_access_line_is_the_same_with_or_without_a_log_record(
    capsys: pytest.CaptureFixture[str], repository: SQLiteRepository
) -> None:
    configure_logging("INFO")  # as the entry points do; create_app does not
    client = create_app(Settings(), repository=repository, clock=lambda: TODAY).test_client()
    headers = {"X-Request-ID": "same-id"}
    client.get("/hello/nobody", headers=headers)
    access = logging.getLogger("hello_birthday.access")
    # Any filter means the record must exist, so the line goes through logging itself.
    access.addFilter(lambda record: True)
    try:
        client.get("/hello/nobody", headers=headers)
    finally:
        access.filters.clear()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    direct, recorded = (line for line in lines if line["logger"] == "hello_birthday.access")
    assert list(direct) == list(recorded)
    for entry in (direct, recorded):
        entry.pop("time")
        entry.pop("duration_ms")
    assert (
        direct
        == recorded
        == {
            "level": "INFO",
            "logger": "hello_birthday.access",
            "message": "request",
            "request_id": "same-id",
            "method": "GET",
            "route": "/hello/<username>",
            "status": 404,
        }
    )


def test_jwt_is_not_imported_while_auth_is_off(tmp_path: Path) -> None:
    # A fresh interpreter: this test process has imported PyJWT for the auth tests already.
    program = (
        "import sys\n"
        "from pathlib import Path\n"
        "from hello_birthday.app import create_app\n"
        "from hello_birthday.settings import Settings\n"
        f"app = create_app(Settings(sqlite_path=Path({str(tmp_path / 'db.sqlite3')!r})))\n"
        "assert app.test_client().get('/hello/nobody').status_code == 404\n"
        "roots = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(roots & {'jwt', 'cryptography'}))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    # The access line has a buffer of its own, so it may come before or after the print.
    printed = [line for line in ran.stdout.splitlines() if line.startswith("[")]
    assert printed == ["[]"]


def test_access_lines_reach_a_buffered_stream_soon_and_in_order(
    monkeypatch: pytest.MonkeyPatch, repository: SQLiteRepository, tmp_path: Path
) -> None:
    log_path = tmp_path / "stdout.log"
    with log_path.open("w") as stdout:  # block-buffered, as a container's stdout pipe is
        monkeypatch.setattr(sys, "stdout", stdout)
        configure_logging("INFO")  # as the entry points do; create_app does not
        client = create_app(Settings(), repository=repository, clock=lambda: TODAY).test_client()
        client.get("/hello/nobody", headers={"X-Request-ID": "first"})
        deadline = time.monotonic() + 10
        while "first" not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "first" in log_path.read_text(), "the access line was never flushed"
        client.get("/hello/nobody", headers={"X-Request-ID": "second"})
        logging.getLogger("hello_birthday").warning("after the second request")
        lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [line.get("request_id") for line in lines] == ["first", "second", None]
    assert lines[-1]["message"] == "after the second request"


class _CountingFile(io.FileIO):
    """A real file that counts the write system calls made on it."""

    writes = 0

    def write(self, data: Any) -> int:
        self.writes += 1
        return super().write(data)


def test_request_lines_are_batched_even_when_stdout_is_unbuffered(
    monkeypatch: pytest.MonkeyPatch, repository: SQLiteRepository, tmp_path: Path
) -> None:
    raw = _CountingFile(tmp_path / "stdout.log", "w")
    # What PYTHONUNBUFFERED makes of stdout: text written straight through to the file.
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, write_through=True))
    configure_logging("INFO")  # as the entry points do; create_app does not
    client = create_app(Settings(), repository=repository, clock=lambda: TODAY).test_client()
    for _ in range(20):
        client.get("/hello/nobody")
    logging.getLogger().handlers[0].flush()
    lines = (tmp_path / "stdout.log").read_text().splitlines()
    assert len(lines) == 20
    assert raw.writes < 5


def test_building_the_app_leaves_logging_as_it_was(repository: SQLiteRepository) -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    create_app(Settings(log_level="DEBUG"), repository=repository, clock=lambda: TODAY)
    assert (list(root.handlers), root.level) == before


def test_responses_hear_of_a_drain_within_a_moment_and_probes_at_once(
    sqlite_path: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "draining"
    now = [100.0]
    store = SQLiteRepository(sqlite_path, timeout=1)
    readiness = Readiness(store, marker, clock=lambda: now[0])
    assert not readiness.draining()
    marker.touch()
    # No stat per response: the answer may lag the marker by DRAIN_LOOK_SECONDS.
    assert not readiness.draining()
    now[0] += DRAIN_LOOK_SECONDS
    assert readiness.draining()
    marker.unlink()
    assert readiness.draining(), "a drain is never undone"
    fresh = Readiness(store, marker, clock=lambda: now[0])
    assert not fresh.draining()
    marker.touch()
    assert fresh.problem() == "The server is shutting down."
    assert fresh.draining()
