"""SQLite engine: the embedded default."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hello_birthday.storage.port import StorageUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS birthdays (
    username_key TEXT PRIMARY KEY NOT NULL,
    date_of_birth TEXT NOT NULL
) WITHOUT ROWID
"""

_UPSERT = (
    "INSERT INTO birthdays (username_key, date_of_birth) VALUES (?, ?)"
    " ON CONFLICT (username_key) DO UPDATE SET date_of_birth = excluded.date_of_birth"
)

# Another process holds the writer lock for one batch: a commit and its fsync, well under a
# millisecond. Polls start short so the lock changes hands soon after it is released, and stay
# short so that a waiter does not sleep through several of the other process's batches.
_FIRST_PAUSE = 0.00005
_LONGEST_PAUSE = 0.001
# How often a thread's reader compares its files with the ones at the paths: two stats per read
# were a measurable part of a GET, and a read served from a just-replaced file is the read
# that would have been served a moment earlier. Writes compare on every batch (decision 0007).
READER_LOOK_SECONDS = 0.05


class SQLiteRepository:
    """Reads on one connection per thread; saves group-committed, each batch synced once."""

    engine = "sqlite"

    def __init__(self, path: Path, *, timeout: float) -> None:
        self._path = path
        self._lock_path = path.with_name(f"{path.name}-writer.lock")
        self._timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Held by the leader for a whole batch; the threads queued on it are its followers.
        self._write_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: list[_Write] = []
        self._writer: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._wal_path = path.with_name(f"{path.name}-wal")
        # The files each connection opened, to tell when the ones at the paths are others.
        self._opened: dict[sqlite3.Connection, _Files] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        with _translated_errors:
            connection = self._connect(create=True)
            connection.execute(_SCHEMA)
            connection.close()

    def save(self, key: str, born: date) -> None:
        # Every commit costs an fsync of the WAL, however many rows it holds. So a save queues
        # its row, and whichever queued save gets the write lock first commits all the queued
        # rows in one transaction; the others find theirs done (or failed) when they get the
        # lock, and return without a commit of their own.
        write = _Write(key, born.isoformat())
        with self._pending_lock:
            self._pending.append(write)
        with self._write_lock:
            if not write.finished:
                self._commit_pending()
        if write.error is not None:
            raise write.error

    def get(self, key: str) -> date | None:
        with _translated_errors:
            row = (
                self._connection()
                .execute("SELECT date_of_birth FROM birthdays WHERE username_key = ?", (key,))
                .fetchone()
            )
        return None if row is None else date.fromisoformat(row[0])

    def check(self) -> None:
        # Readiness includes the files: a server answering from a deleted or replaced database
        # serves data a restart would not have. A failing write alone does not make it unready
        # (decision 0007).
        with _translated_errors:
            self._connection(reconnect=False).execute("SELECT 1 FROM birthdays LIMIT 1").fetchall()

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
        self._opened.clear()

    def _commit_pending(self) -> None:
        """Commit every pending save in one transaction, then tell each how it went."""
        batch: list[_Write] = []
        try:
            connection = self._writer_connection()
            with self._other_processes_excluded():
                # Checked under the lock that all writing processes share, so that no other
                # process commits between the check and this batch's commit.
                self._still_the_files(connection, on_mismatch=self._drop_writer)
                # Taken once the locks are held, so that the saves which arrived meanwhile
                # share this commit instead of each waiting for one of their own.
                with _translated_errors:
                    connection.execute("BEGIN IMMEDIATE")
                batch = self._take_pending()
                try:
                    with _translated_errors:
                        connection.executemany(_UPSERT, [(w.key, w.born) for w in batch])
                        connection.execute("COMMIT")
                except BaseException:
                    self._roll_back(connection)
                    raise
                # Committed into files that were unlinked meanwhile is not durable: refused.
                self._still_the_files(connection, on_mismatch=self._drop_writer)
        except BaseException as error:
            # A failed writer is opened afresh next time: one opened while the file was
            # read-only stays read-only after the file is writable again.
            self._drop_writer()
            if not batch:
                batch = self._take_pending()
            message = str(error) if isinstance(error, StorageUnavailable) else f"sqlite: {error!r}"
            for write in batch:
                write.fail(message, error)
            raise
        for write in batch:
            write.succeed()

    def _take_pending(self) -> list[_Write]:
        with self._pending_lock:
            batch, self._pending = self._pending, []
        return batch

    def _roll_back(self, connection: sqlite3.Connection) -> None:
        """Leave no transaction open (the writer is dropped afterwards anyway)."""
        with contextlib.suppress(sqlite3.Error):
            if connection.in_transaction:
                connection.execute("ROLLBACK")

    def _drop_writer(self) -> None:
        if self._writer is not None:
            self._forget(self._writer)
            self._writer = None

    def _writer_connection(self) -> sqlite3.Connection:
        if self._writer is None:
            with _translated_errors:
                self._writer = self._connect()
        return self._writer

    def _still_the_files(
        self, connection: sqlite3.Connection, on_mismatch: Callable[[], None]
    ) -> None:
        """Raise StorageUnavailable if the files at the paths are not the ones this holds.

        Deleting the -wal while the server runs unlinks the file the commits go to; deleting
        or replacing the database file leaves the connection writing to one no restart will
        open. Either way a save would be acknowledged and lost.
        """
        opened = self._opened.get(connection)
        current = _Files.at(self._path, self._wal_path)
        if opened is None or opened == current:
            return
        if opened.database == current.database:
            # Only the -wal is gone or new: what was committed to the one this connection
            # still has open is copied into the database file, so no acknowledged save is lost.
            with contextlib.suppress(sqlite3.Error):
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        on_mismatch()
        raise StorageUnavailable(
            f"sqlite: the database files at {self._path} are not the ones open"
            " (deleted or replaced); reopening them"
        )

    def _other_processes_excluded(self) -> _WriterLock:
        if self._lock_fd is None:
            try:
                # A file of its own: opening and closing a descriptor on the database file
                # would drop the POSIX locks SQLite holds on it in this process.
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise StorageUnavailable(f"sqlite: writer lock: {error}") from error
        return _WriterLock(self._lock_fd, self._timeout)

    def _connection(self, *, reconnect: bool = True) -> sqlite3.Connection:
        """This thread's reader, opened afresh when the files changed under the old one.

        With reconnect=False the change is reported first (readiness says so once).
        """
        local = self._local
        connection: sqlite3.Connection | None = getattr(local, "connection", None)
        if connection is not None:
            now = time.monotonic()
            # Readiness always looks; a read looks at most every READER_LOOK_SECONDS.
            if not reconnect or now >= local.next_look:
                local.next_look = now + READER_LOOK_SECONDS
                try:
                    self._still_the_files(connection, on_mismatch=self._drop_reader)
                except StorageUnavailable:
                    if not reconnect:
                        raise
                    connection = None
        if connection is None:
            connection = self._connect()
            local.connection = connection
            local.next_look = time.monotonic() + READER_LOOK_SECONDS
            with self._lock:
                self._connections.append(connection)
        return connection

    def _drop_reader(self) -> None:
        connection: sqlite3.Connection = self._local.connection
        self._local.connection = None
        with self._lock:
            self._connections.remove(connection)
        self._forget(connection)

    def _forget(self, connection: sqlite3.Connection) -> None:
        self._opened.pop(connection, None)
        with contextlib.suppress(sqlite3.Error):
            connection.close()

    def _connect(self, *, create: bool = False) -> sqlite3.Connection:
        # Only the first open may create the database: once running, a missing file is a
        # fault to report until the file is restored, not a reason to start an empty one.
        target = str(self._path) if create else f"{self._path.resolve().as_uri()}?mode=rw"
        # Autocommit: a statement outside BEGIN ... COMMIT is its own transaction.
        connection = sqlite3.connect(
            target,
            timeout=self._timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=not create,
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            # FULL syncs the WAL on every commit, so an acknowledged write survives power loss,
            # not only a crash of the process.
            connection.execute("PRAGMA synchronous=FULL")
            # A read opens the -wal, so the files recorded are the ones this connection uses.
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except BaseException:
            connection.close()
            raise
        self._opened[connection] = _Files.at(self._path, self._wal_path)
        return connection


@dataclass(frozen=True, slots=True)
class _Files:
    """Which files (device and inode) are at the database's and its -wal's paths."""

    database: tuple[int, int] | None
    wal: tuple[int, int] | None

    @classmethod
    def at(cls, database: Path, wal: Path) -> _Files:
        return cls(_identity(database), _identity(wal))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


class _Write:
    """One save: what to store, and how the batch that carried it ended."""

    __slots__ = ("born", "error", "finished", "key")

    def __init__(self, key: str, born: str) -> None:
        self.key = key
        self.born = born
        self.finished = False
        self.error: StorageUnavailable | None = None

    def succeed(self) -> None:
        self.finished = True

    def fail(self, message: str, cause: BaseException) -> None:
        # An exception of its own for each thread: one object raised in several threads at once
        # would get their tracebacks written over each other.
        self.error = StorageUnavailable(message)
        self.error.__cause__ = cause
        self.finished = True


class _WriterLock:
    """An exclusive flock on the writer lock file, given up after the timeout."""

    def __init__(self, fd: int, timeout: float) -> None:
        self._fd = fd
        self._timeout = timeout

    def __enter__(self) -> None:
        # Polled rather than blocking: flock cannot time out, and a blocking wait would hang
        # this process's writers for as long as another process holds the lock, however long
        # that is (a stalled disk, a stopped process). SQLite's busy handler would sleep up to
        # 100 ms between tries; these pauses stay near the length of one batch.
        deadline: float | None = None
        pause = _FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            except OSError as error:
                raise StorageUnavailable(f"sqlite: writer lock: {error}") from error
            else:
                return
            now = time.monotonic()
            if deadline is None:
                deadline = now + self._timeout
            elif now >= deadline:
                raise StorageUnavailable(
                    f"sqlite: database is locked by another process for over {self._timeout} s"
                )
            time.sleep(min(pause, deadline - now))
            pause = min(pause * 2, _LONGEST_PAUSE)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)


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
