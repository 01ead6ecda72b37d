"""The Python ceiling: a bare WSGI callable doing the service's GET work and nothing else.

Same rules (hello_birthday.domain), same SQLite schema and per-thread connection, same JSON; no
framework, no request ids, metrics or logging. BENCH_SQLITE_PATH names the database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from hello_birthday.domain import ValidationError, greeting, parse_username

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_PATH = os.environ["BENCH_SQLITE_PATH"]
_PREFIX = "/hello/"
_local = threading.local()


def _connection() -> sqlite3.Connection:
    connection: sqlite3.Connection | None = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(_PATH, isolation_level=None, check_same_thread=False)
        _local.connection = connection
    return connection


def _reply(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """GET /hello/<username> -> the greeting; anything else -> a bare error status."""
    path: str = environ.get("PATH_INFO", "")
    if environ.get("REQUEST_METHOD") != "GET" or not path.startswith(_PREFIX):
        return _reply(start_response, "404 Not Found", b"{}")
    try:
        # WSGI hands the path over as latin-1 decoded bytes.
        user = parse_username(path[len(_PREFIX) :].encode("latin-1").decode("utf-8"))
    except (ValidationError, UnicodeError):
        return _reply(start_response, "400 Bad Request", b"{}")
    row = (
        _connection()
        .execute("SELECT date_of_birth FROM birthdays WHERE username_key = ?", (user.key,))
        .fetchone()
    )
    if row is None:
        return _reply(start_response, "404 Not Found", b"{}")
    today = datetime.now(UTC).date()
    message = greeting(user.display, date.fromisoformat(row[0]), today)
    return _reply(
        start_response, "200 OK", json.dumps({"message": message}, ensure_ascii=False).encode()
    )
