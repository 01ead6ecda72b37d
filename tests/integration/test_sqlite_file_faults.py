"""SQLite files changed under a running server: deleted, replaced, made read-only, then fixed."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hello_birthday.storage import StorageUnavailable
from hello_birthday.storage.sqlite import READER_LOOK_SECONDS, SQLiteRepository

BORN = date(1990, 1, 1)


@pytest.fixture
def store(sqlite_path: Path) -> Iterator[SQLiteRepository]:
    repository = SQLiteRepository(sqlite_path, timeout=1)
    yield repository
    repository.close()


def _rows(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return {key for (key,) in connection.execute("SELECT username_key FROM birthdays")}


def _replace_with_one_holding(key: str, sqlite_path: Path, tmp_path: Path) -> None:
    """Put another database, holding only `key`, at the path, as a restore from backup would."""
    other = SQLiteRepository(tmp_path / "other.sqlite3", timeout=1)
    other.save(key, BORN)
    other.close()
    (tmp_path / "other.sqlite3").replace(sqlite_path)
    for suffix in ("-wal", "-shm"):
        sqlite_path.with_name(sqlite_path.name + suffix).unlink(missing_ok=True)


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """The file cannot be opened for writing, whoever we are (root ignores the mode bits)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o444)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o644)


def test_a_deleted_wal_refuses_writes_keeps_acknowledged_ones_and_recovers(
    store: SQLiteRepository, sqlite_path: Path
) -> None:
    store.save("before", BORN)
    assert store.get("before") == BORN  # a reader holds the files too
    # Another worker's connection: closing ours is then not the last close, which would have
    # checkpointed the unlinked -wal on its own.
    other_worker = sqlite3.connect(sqlite_path)
    other_worker.execute("SELECT 1 FROM birthdays").fetchall()
    wal = sqlite_path.with_name(sqlite_path.name + "-wal")
    wal.unlink()
    with pytest.raises(StorageUnavailable, match="not the ones open"):
        store.check()
    with pytest.raises(StorageUnavailable, match="not the ones open"):
        store.save("during", BORN)
    # Recovered without a restart: the next save opens the files at the paths again.
    store.save("after", BORN)
    store.check()
    store.close()
    other_worker.close()
    # A restart sees every write that was acknowledged, none that was refused.
    assert _rows(sqlite_path) == {"before", "after"}


def test_a_deleted_database_refuses_writes_until_it_is_restored(
    store: SQLiteRepository, sqlite_path: Path, tmp_path: Path
) -> None:
    store.save("before", BORN)
    backup = tmp_path / "backup.sqlite3"
    with contextlib.closing(sqlite3.connect(backup)) as copy:
        store_copy = sqlite3.connect(sqlite_path)
        store_copy.backup(copy)
        store_copy.close()
    for suffix in ("", "-wal", "-shm"):
        sqlite_path.with_name(sqlite_path.name + suffix).unlink(missing_ok=True)
    for _ in range(2):
        with pytest.raises(StorageUnavailable):
            store.save("during", BORN)
    with pytest.raises(StorageUnavailable):
        store.get("before")
    with pytest.raises(StorageUnavailable):
        store.check()
    assert not sqlite_path.exists(), "an empty database was created in place of the lost one"
    backup.rename(sqlite_path)
    store.save("after", BORN)
    assert store.get("before") == BORN
    store.check()
    store.close()
    assert _rows(sqlite_path) == {"before", "after"}


def test_a_replaced_database_is_not_written_through_the_old_one(
    store: SQLiteRepository, sqlite_path: Path, tmp_path: Path
) -> None:
    store.save("old", BORN)
    _replace_with_one_holding("new", sqlite_path, tmp_path)
    with pytest.raises(StorageUnavailable):
        store.save("lost", BORN)
    store.save("kept", BORN)
    assert store.get("new") == BORN
    store.close()
    assert _rows(sqlite_path) == {"new", "kept"}


def test_a_writer_opened_read_only_writes_once_the_file_is_writable(
    sqlite_path: Path,
) -> None:
    SQLiteRepository(sqlite_path, timeout=1).close()
    with _read_only(sqlite_path):
        store = SQLiteRepository(sqlite_path, timeout=1)
        with pytest.raises(StorageUnavailable, match="readonly"):
            store.save("during", BORN)
    try:
        store.save("after", BORN)
        assert store.get("after") == BORN
    finally:
        store.close()
    assert _rows(sqlite_path) == {"after"}


class _WalDeletedMidBatch(SQLiteRepository):
    """Real SQLite whose -wal is unlinked inside the next batch, after BEGIN, before COMMIT."""

    delete_next = False

    def _take_pending(self) -> list[Any]:
        if self.delete_next:
            self.delete_next = False
            self._path.with_name(self._path.name + "-wal").unlink()
        return super()._take_pending()


def test_a_wal_deleted_during_the_commit_is_not_acknowledged(sqlite_path: Path) -> None:
    store = _WalDeletedMidBatch(sqlite_path, timeout=1)
    try:
        store.save("before", BORN)
        store.delete_next = True
        with pytest.raises(StorageUnavailable, match="not the ones open"):
            store.save("during", BORN)
        store.save("after", BORN)
    finally:
        store.close()
    # What the unlinked -wal held was copied into the database before the writer let go of it.
    assert {"before", "after"} <= _rows(sqlite_path)


def test_reads_follow_a_replaced_database_within_the_reader_look(
    store: SQLiteRepository, sqlite_path: Path, tmp_path: Path
) -> None:
    store.save("old", BORN)
    assert store.get("old") == BORN  # this thread's reader holds the old files
    _replace_with_one_holding("new", sqlite_path, tmp_path)
    replaced = time.monotonic()
    # A read may still come from the old files for READER_LOOK_SECONDS, never for longer.
    while store.get("new") is None:
        assert time.monotonic() - replaced < READER_LOOK_SECONDS + 1, "reads never moved over"
        time.sleep(READER_LOOK_SECONDS / 5)
    assert store.get("old") is None
    # Readiness does not wait: it looks at the files on every check.
    sqlite_path.unlink()
    with pytest.raises(StorageUnavailable):
        store.check()
