"""One contract, two engines: SQLite on a file and DynamoDB on dynalite."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from tools.local.dynalite import FAKE_CREDENTIALS, Dynalite
from tools.local.ports import free_port

from hello_birthday.storage import Repository, StorageUnavailable
from hello_birthday.storage.dynamodb import DynamoDBRepository
from hello_birthday.storage.sqlite import SQLiteRepository
from tests.support.concurrency import errors_from_threads


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(params=["sqlite", "dynamodb"])
def repository(
    request: pytest.FixtureRequest, sqlite_path: Path, aws_env: None
) -> Iterator[Repository]:
    store: Repository
    if request.param == "sqlite":
        store = SQLiteRepository(sqlite_path, timeout=2)
    else:
        server: Dynalite = request.getfixturevalue("dynalite")
        table = f"contract-{uuid.uuid4().hex[:12]}"
        server.create_table(table)
        store = _dynamodb(server.endpoint, table)
    yield store
    store.close()


def _dynamodb(endpoint: str, table: str) -> DynamoDBRepository:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        return DynamoDBRepository(table=table, region="us-east-1", timeout=2)


def test_missing_key_is_none(repository: Repository) -> None:
    assert repository.get("nobody") is None


def test_save_then_get(repository: Repository) -> None:
    repository.save("alice", date(1990, 1, 2))
    assert repository.get("alice") == date(1990, 1, 2)


def test_save_replaces(repository: Repository) -> None:
    repository.save("bob", date(1990, 1, 2))
    repository.save("bob", date(1985, 12, 31))
    assert repository.get("bob") == date(1985, 12, 31)


def test_keys_are_exact(repository: Repository) -> None:
    repository.save("zoë", date(2000, 2, 29))
    assert repository.get("zoë") == date(2000, 2, 29)
    assert repository.get("zoe") is None
    assert repository.get("Zoë") is None


def test_extreme_dates_round_trip(repository: Repository) -> None:
    repository.save("ancient", date(1, 1, 1))
    repository.save("recent", date(9999, 12, 30))
    assert repository.get("ancient") == date(1, 1, 1)
    assert repository.get("recent") == date(9999, 12, 30)


def test_long_unicode_keys(repository: Repository) -> None:
    key = "𐐨" * 64  # 4 bytes each in UTF-8
    repository.save(key, date(1999, 9, 9))
    assert repository.get(key) == date(1999, 9, 9)


def test_check_passes_when_reachable(repository: Repository) -> None:
    repository.check()


def test_concurrent_writers_lose_nothing(repository: Repository) -> None:
    writers, per_writer = 8, 15

    def write(writer: int) -> None:
        for n in range(per_writer):
            repository.save(f"user{writer}x{n}", date(1990, 1, 1) + timedelta(days=writer * n))
            repository.save("shared", date(1980, 1, 1) + timedelta(days=writer))

    assert errors_from_threads(write, writers) == []
    for writer in range(writers):
        for n in range(per_writer):
            expected = date(1990, 1, 1) + timedelta(days=writer * n)
            assert repository.get(f"user{writer}x{n}") == expected
    shared = repository.get("shared")
    assert shared in {date(1980, 1, 1) + timedelta(days=w) for w in range(writers)}


def test_sqlite_lock_timeout_is_unavailable(sqlite_path: Path) -> None:
    store = SQLiteRepository(sqlite_path, timeout=0.2)
    blocker = sqlite3.connect(sqlite_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageUnavailable, match="locked"):
            store.save("alice", date(1990, 1, 1))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.save("alice", date(1990, 1, 1))
    assert store.get("alice") == date(1990, 1, 1)
    store.close()


def test_sqlite_survives_reopen(sqlite_path: Path) -> None:
    first = SQLiteRepository(sqlite_path, timeout=1)
    first.save("alice", date(1990, 1, 1))
    first.close()
    second = SQLiteRepository(sqlite_path, timeout=1)
    assert second.get("alice") == date(1990, 1, 1)
    second.close()


def test_dynamodb_missing_table_is_unavailable(dynalite: Dynalite, aws_env: None) -> None:
    store = _dynamodb(dynalite.endpoint, "no-such-table")
    with pytest.raises(StorageUnavailable, match="ResourceNotFoundException"):
        store.check()
    with pytest.raises(StorageUnavailable, match="ResourceNotFoundException"):
        store.get("alice")
    with pytest.raises(StorageUnavailable):
        store.save("alice", date(1990, 1, 1))


def test_dynamodb_unreachable_is_unavailable(aws_env: None) -> None:
    store = _dynamodb(f"http://127.0.0.1:{free_port()}", "hello-birthday")
    with pytest.raises(StorageUnavailable, match="EndpointConnectionError"):
        store.get("alice")
    with pytest.raises(StorageUnavailable):
        store.check()
