"""The framework's floor: the least Flask app that does the service's GET work.

Same rules (hello_birthday.domain), same SQLite schema and per-thread connection, same JSON; no
request ids, metrics, logging or problem documents. BENCH_SQLITE_PATH names the database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, date, datetime

from flask import Flask, Response, abort

from hello_birthday.domain import ValidationError, greeting, parse_username

_PATH = os.environ["BENCH_SQLITE_PATH"]
_local = threading.local()

app = Flask(__name__)


def _connection() -> sqlite3.Connection:
    connection: sqlite3.Connection | None = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(_PATH, isolation_level=None, check_same_thread=False)
        _local.connection = connection
    return connection


@app.get("/hello/<username>")
def hello(username: str) -> Response:
    """The greeting for a stored user."""
    try:
        user = parse_username(username)
    except ValidationError:
        abort(400)
    row = (
        _connection()
        .execute("SELECT date_of_birth FROM birthdays WHERE username_key = ?", (user.key,))
        .fetchone()
    )
    if row is None:
        abort(404)
    message = greeting(user.display, date.fromisoformat(row[0]), datetime.now(UTC).date())
    body = json.dumps({"message": message}, ensure_ascii=False)
    return Response(body, mimetype="application/json")
