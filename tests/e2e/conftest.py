"""End-to-end tests start the real server process as `make run` does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tools.local.server import ServerProcess

from tests.support import tokens
from tests.support.tokens import JwksServer, Keyring

StartServer = Callable[..., ServerProcess]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start servers with extra environment; every one is stopped after the test."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        env.setdefault("HELLO_SQLITE_PATH", str(tmp_path / "hello.sqlite3"))
        # No load balancer to wait for here; tests that exercise the drain set their own.
        env.setdefault("HELLO_DRAIN_SECONDS", "0.2")
        server = ServerProcess(env, tmp_path / f"server-{len(started)}.log").start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def keyring() -> Keyring:
    """Signing keys for one module's tokens."""
    return Keyring.generate()


@pytest.fixture(scope="module")
def issuer(keyring: Keyring) -> Iterator[JwksServer]:
    """The keyring's JWKS served on loopback, as an identity provider would."""
    with tokens.jwks_server(keyring.jwks()) as running:
        yield running
