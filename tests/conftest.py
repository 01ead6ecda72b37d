"""Fixtures shared by every tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tools.local.dynalite import Dynalite

TESTS = Path(__file__).parent
# Each folder under tests/ is a tier; its marker is applied here, so no test file carries one.
TIERS = ("unit", "integration", "e2e", "docs", "infra", "helm", "image", "rehearsal")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with the tier its folder names (`pytest -m unit`, `-m "not e2e"`)."""
    for item in items:
        tier = item.path.relative_to(TESTS).parts[0]
        if tier in TIERS:
            item.add_marker(tier)


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
