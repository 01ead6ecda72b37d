"""The JWKS cache against real HTTP endpoints on loopback: fetch counts, failures, timeouts."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from tools.local.ports import free_port

from hello_birthday.auth import AuthUnavailable, JwksCache
from tests.support import tokens
from tests.support.tokens import JwksServer, SigningKey


@pytest.fixture(scope="module")
def first() -> SigningKey:
    return tokens.rsa_key("first")


@pytest.fixture(scope="module")
def second() -> SigningKey:
    return tokens.ec_key("second")


@pytest.fixture
def server(first: SigningKey) -> Iterator[JwksServer]:
    with tokens.jwks_server(tokens.jwks(first)) as running:
        yield running


def test_fetched_lazily_once_and_again_for_a_rotated_kid(
    server: JwksServer, first: SigningKey, second: SigningKey
) -> None:
    keys = JwksCache(server.url, ttl=300)
    assert server.fetches == 0
    assert keys.key("first") is not None
    assert keys.key("first") is not None
    assert server.fetches == 1
    server.document = tokens.jwks(first, second)
    assert keys.key("second") is not None
    assert server.fetches == 2
    # Another unknown kid straight away is not worth a download.
    assert keys.key("forged") is None
    assert server.fetches == 2


def test_an_error_status_is_unavailable_and_not_retried_at_once(server: JwksServer) -> None:
    server.available = False
    keys = JwksCache(server.url, ttl=300, failure_backoff=30)
    with pytest.raises(AuthUnavailable, match="503"):
        keys.key("first")
    with pytest.raises(AuthUnavailable):
        keys.key("first")
    assert server.fetches == 1


def test_a_wrong_path_is_unavailable(server: JwksServer) -> None:
    with pytest.raises(AuthUnavailable, match="404"):
        JwksCache(server.url.replace("jwks.json", "nothing"), ttl=300).key("first")


def test_nothing_listening_is_unavailable() -> None:
    with pytest.raises(AuthUnavailable):
        JwksCache(f"http://127.0.0.1:{free_port()}/jwks.json", ttl=300).key("first")


def test_a_silent_endpoint_is_given_up_on_after_the_timeout() -> None:
    # Listening but never answering: the connection is accepted by the kernel and then hangs.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/jwks.json"
        started = time.monotonic()
        with pytest.raises(AuthUnavailable, match="timed out"):
            JwksCache(url, ttl=300, timeout=0.3).key("first")
        assert time.monotonic() - started < 2
