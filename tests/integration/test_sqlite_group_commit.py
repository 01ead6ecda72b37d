"""SQLite group commit: saves share transactions in a process and queue on a lock across them."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from hello_birthday.storage import StorageUnavailable
from hello_birthday.storage.sqlite import SQLiteRepository
from tests.support.concurrency import errors_from_threads

# Only a guard against a hang: nothing here is meant to take more than a second or two.
_PATIENCE = 30.0


def _born(n: int) -> date:
    return date(1950, 1, 1) + timedelta(days=n)


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.001)


def _wait_for_pending(store: SQLiteRepository, count: int) -> None:
    """Wait until `count` saves are queued for the next batch."""

    # White-box, so that a test can make sure saves share one batch instead of hoping the
    # scheduler puts them there.
    def queued() -> bool:
        with store._pending_lock:
            return len(store._pending) == count

    _wait_for(queued)


@contextmanager
def _writer_lock_held(sqlite_path: Path, how: int = fcntl.LOCK_EX) -> Iterator[None]:
    """Hold the cross-process writer lock, as another worker process committing would."""
    fd = os.open(f"{sqlite_path}-writer.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, how)
        yield
    finally:
        os.close(fd)


class _Saver(threading.Thread):
    """Saves one date of birth in a thread of its own and keeps what the save raised."""

    def __init__(self, store: SQLiteRepository, key: str, born: date) -> None:
        super().__init__()
        self._store, self._key, self._born = store, key, born
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._store.save(self._key, self._born)
        except BaseException as error:
            self.error = error

    def finish(self) -> BaseException | None:
        self.join(_PATIENCE)
        assert not self.is_alive(), "save never returned"
        return self.error


@pytest.fixture
def store(sqlite_path: Path) -> Iterator[SQLiteRepository]:
    repository = SQLiteRepository(sqlite_path, timeout=10)
    yield repository
    repository.close()


def test_many_threads_all_persist_and_the_second_write_to_a_key_wins(
    store: SQLiteRepository,
) -> None:
    writers, keys_each = 16, 40

    def write(writer: int) -> None:
        for n in range(keys_each):
            key = f"w{writer}k{n}"
            store.save(key, _born(n))
            store.save(key, _born(writer * 1000 + n))

    assert errors_from_threads(write, writers) == []
    for writer in range(writers):
        for n in range(keys_each):
            assert store.get(f"w{writer}k{n}") == _born(writer * 1000 + n)


def test_saves_queued_together_are_stored_in_arrival_order(
    store: SQLiteRepository, sqlite_path: Path
) -> None:
    store.save("warm", _born(0))  # so the first saver opens nothing while the others queue
    with _writer_lock_held(sqlite_path):
        first = _Saver(store, "alice", _born(1))
        first.start()
        _wait_for_pending(store, 1)
        later = [_Saver(store, "alice", _born(2)), _Saver(store, "bob", _born(3))]
        for n, saver in enumerate(later, start=2):
            saver.start()
            _wait_for_pending(store, n)
    assert [saver.finish() for saver in [first, *later]] == [None, None, None]
    assert store.get("alice") == _born(2)
    assert store.get("bob") == _born(3)


def test_a_failed_batch_fails_every_save_in_it_and_stores_none(
    store: SQLiteRepository, sqlite_path: Path
) -> None:
    # A trigger that rejects one row makes the batch fail half-way through its inserts.
    setup = sqlite3.connect(sqlite_path, isolation_level=None)
    setup.execute(
        "CREATE TRIGGER reject_poison BEFORE INSERT ON birthdays WHEN NEW.username_key = 'poison'"
        " BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
    )
    keys = ["alice", "bob", "poison", "carol"]
    store.save("warm", _born(0))  # so the first saver opens nothing while the others queue
    savers = [_Saver(store, key, _born(n)) for n, key in enumerate(keys)]
    with _writer_lock_held(sqlite_path):
        for n, saver in enumerate(savers, start=1):
            saver.start()
            _wait_for_pending(store, n)
    errors = [saver.finish() for saver in savers]
    assert all(isinstance(error, StorageUnavailable) for error in errors), errors
    assert all("poison refused" in str(error) for error in errors), errors
    for key in keys:
        assert store.get(key) is None
    setup.execute("DROP TRIGGER reject_poison")
    setup.close()
    store.save("alice", _born(9))
    assert store.get("alice") == _born(9)


def test_saves_fail_when_the_database_stays_locked_past_the_timeout(sqlite_path: Path) -> None:
    store = SQLiteRepository(sqlite_path, timeout=0.3)
    blocker = sqlite3.connect(sqlite_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        savers = [_Saver(store, f"user{n}", _born(n)) for n in range(6)]
        for saver in savers:
            saver.start()
        errors = [saver.finish() for saver in savers]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert all(isinstance(error, StorageUnavailable) for error in errors), errors
    for n in range(6):
        assert store.get(f"user{n}") is None
    store.save("user0", _born(0))
    assert store.get("user0") == _born(0)
    store.close()


# Shared too: a writer must take the lock exclusively, or two processes could hold it at once.
@pytest.mark.parametrize("how", [fcntl.LOCK_EX, fcntl.LOCK_SH], ids=["exclusive", "shared"])
def test_a_writer_lock_held_past_the_timeout_is_unavailable(sqlite_path: Path, how: int) -> None:
    store = SQLiteRepository(sqlite_path, timeout=0.2)
    with _writer_lock_held(sqlite_path, how):
        saver = _Saver(store, "alice", _born(1))
        saver.start()
        error = saver.finish()
    assert isinstance(error, StorageUnavailable)
    assert "locked" in str(error)
    assert store.get("alice") is None
    store.save("alice", _born(2))
    assert store.get("alice") == _born(2)
    store.close()


def test_a_closed_store_reopens_on_the_next_save(store: SQLiteRepository) -> None:
    store.save("alice", _born(1))
    store.close()
    store.save("bob", _born(2))
    assert store.get("alice") == _born(1)
    assert store.get("bob") == _born(2)


def _write_in_a_process(path: str, process: int, start: Event, per_thread: int) -> None:
    """Save from several threads, then exit without closing anything."""
    store = SQLiteRepository(Path(path), timeout=10)
    start.wait()

    def write(thread: int) -> None:
        for n in range(per_thread):
            key = f"p{process}t{thread}n{n}"
            store.save("shared", _born(process))
            store.save(key, _born(n))
            store.save(key, _born(process * 10000 + thread * 1000 + n))

    failures = errors_from_threads(write, 4)
    # No close and no clean interpreter exit: what was acknowledged must already be on disk.
    os._exit(1 if failures else 0)


def test_writers_in_two_processes_lose_nothing(sqlite_path: Path) -> None:
    SQLiteRepository(sqlite_path, timeout=10).close()
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    per_thread = 60
    processes = [
        context.Process(target=_write_in_a_process, args=(str(sqlite_path), p, start, per_thread))
        for p in range(2)
    ]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(_PATIENCE * 2)
        assert process.exitcode == 0
    store = SQLiteRepository(sqlite_path, timeout=10)
    for p in range(2):
        for t in range(4):
            for n in range(per_thread):
                assert store.get(f"p{p}t{t}n{n}") == _born(p * 10000 + t * 1000 + n)
    assert store.get("shared") in {_born(0), _born(1)}
    store.close()


def test_a_lock_file_that_cannot_be_opened_is_unavailable(
    store: SQLiteRepository, sqlite_path: Path
) -> None:
    # A directory in its place: unopenable even for root, which file modes would not stop.
    lock_path = Path(f"{sqlite_path}-writer.lock")
    lock_path.mkdir()
    with pytest.raises(StorageUnavailable, match="writer lock"):
        store.save("alice", _born(1))
    lock_path.rmdir()
    store.save("bob", _born(2))
    assert store.get("alice") is None
    assert store.get("bob") == _born(2)
