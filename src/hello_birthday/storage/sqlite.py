"""SQLite engine: the embedded default."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date
from pathlib import Path

from hello_birthday.storage.port import StorageUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS birthdays (
    username_key TEXT PRIMARY KEY NOT NULL,
    date_of_birth TEXT NOT NULL
) WITHOUT ROWID
"""


class SQLiteRepository:
    """One connection per thread on a WAL database; each save is committed and synced."""

    engine = "sqlite"

    def __init__(self, path: Path, *, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with _translated_errors:
            connection = self._connection()
            connection.execute(_SCHEMA)

    def save(self, key: str, born: date) -> None:
        # SQLite has one writer at a time. Threads of this process queue on a lock that hands
        # over as soon as a commit ends; SQLite's own busy handler polls with sleeps of up to
        # 100 ms, which under contention costs more than the writes themselves.
        with self._write_lock, _translated_errors:
            self._connection().execute(
                "INSERT INTO birthdays (username_key, date_of_birth) VALUES (?, ?)"
                " ON CONFLICT (username_key) DO UPDATE SET date_of_birth = excluded.date_of_birth",
                (key, born.isoformat()),
            )

    def get(self, key: str) -> date | None:
        with _translated_errors:
            row = (
                self._connection()
                .execute("SELECT date_of_birth FROM birthdays WHERE username_key = ?", (key,))
                .fetchone()
            )
        return None if row is None else date.fromisoformat(row[0])

    def check(self) -> None:
        with _translated_errors:
            self._connection().execute("SELECT 1 FROM birthdays LIMIT 1").fetchall()

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            # Autocommit: every statement is its own transaction, committed before it returns.
            connection = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            # FULL syncs the WAL on every commit, so an acknowledged write survives power loss,
            # not only a crash of the process.
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection


class _TranslateErrors:
    """Turns SQLite's operational failures (locked, disk I/O, full) into StorageUnavailable."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: object
    ) -> None:
        if isinstance(error, sqlite3.DatabaseError):
            raise StorageUnavailable(f"sqlite: {error}") from error


_translated_errors = _TranslateErrors()
