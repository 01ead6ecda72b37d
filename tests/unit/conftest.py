"""The app under the Flask test client, on a real SQLite file, with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hello_birthday.app import create_app
from hello_birthday.settings import Settings
from hello_birthday.storage.sqlite import SQLiteRepository

TODAY = date(2026, 11, 28)


@pytest.fixture
def repository(sqlite_path: Path) -> Iterator[SQLiteRepository]:
    store = SQLiteRepository(sqlite_path, timeout=1)
    yield store
    store.close()


@pytest.fixture
def app(repository: SQLiteRepository, tmp_path: Path) -> Flask:
    settings = Settings(sqlite_path=tmp_path / "unused.sqlite3")
    return create_app(settings, repository=repository, clock=lambda: TODAY)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
