"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dynalite import Dynalite


@pytest.fixture(scope="session")
def dynalite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dynalite]:
    """One dynalite server for the whole session, on a free loopback port."""
    server = Dynalite(data_dir=tmp_path_factory.mktemp("dynalite")).start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A fresh database file for one test."""
    return tmp_path / "hello.sqlite3"
