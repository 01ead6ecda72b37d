"""What an operator reads: the ALB trace id on request lines, and breaker refusals told apart."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hello_birthday.app import create_app
from hello_birthday.observability import configure_logging
from hello_birthday.settings import Settings
from hello_birthday.storage.sqlite import SQLiteRepository
from tests.unit.conftest import TODAY

TRACE = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"


def _access_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [line for line in lines if line["logger"] == "hello_birthday.access"]


@pytest.mark.parametrize("through_logging", [False, True])
def test_the_alb_trace_id_is_on_the_request_line(
    capsys: pytest.CaptureFixture[str], repository: SQLiteRepository, through_logging: bool
) -> None:
    configure_logging("INFO")  # as the entry points do; create_app does not
    client = create_app(Settings(), repository=repository, clock=lambda: TODAY).test_client()
    access = logging.getLogger("hello_birthday.access")
    if through_logging:
        access.addFilter(lambda record: True)  # forces the LogRecord path
    try:
        client.get("/hello/nobody", headers={"X-Amzn-Trace-Id": TRACE})
        client.get("/healthz")
        for hostile in ('Root=1"}, "status": 200', "x" * 300, "Root=1 forged"):
            client.get("/healthz", headers={"X-Amzn-Trace-Id": hostile})
    finally:
        access.filters.clear()
    traced, untraced, *hostile_lines = _access_lines(capsys)
    assert traced["trace_id"] == TRACE
    assert list(traced)[4:6] == ["request_id", "trace_id"]
    assert "trace_id" not in untraced
    assert len(hostile_lines) == 3
    assert all("trace_id" not in line for line in hostile_lines)


def _metric(text: str, name: str) -> float:
    match = re.search("^" + re.escape(name) + r" (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_breaker_refusals_are_counted_and_logged_apart_from_failures(
    sqlite_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")  # as the entry points do; create_app does not
    store = SQLiteRepository(sqlite_path, timeout=0.05)
    client = create_app(Settings(), repository=store, clock=lambda: TODAY).test_client()
    blocker = sqlite3.connect(sqlite_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        # Three failures in a row open the breaker; the fourth call is refused untried.
        statuses = [
            client.put("/hello/alice", json={"dateOfBirth": "1990-01-01"}).status_code
            for _ in range(4)
        ]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert statuses == [503] * 4
    text = client.get("/metrics").get_data(as_text=True)
    assert _metric(text, 'hello_storage_refusals_total{reason="open"}') == 1
    assert _metric(text, 'hello_storage_errors_total{engine="sqlite",operation="save"}') == 3
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    messages = [
        (line["message"], line.get("reason")) for line in lines if line["level"] == "WARNING"
    ]
    assert messages == [("storage unavailable", None)] * 3 + [("storage call refused", "open")]
    store.close()
