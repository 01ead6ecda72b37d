"""HELLO_AUTH=jwt end to end: the real server, tokens made here, a JWKS served on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tools.local.server import Reply, ServerProcess, request

from tests.support import tokens
from tests.support.tokens import ADMIN_GROUP, JwksServer, Keyring

BODY = json.dumps({"dateOfBirth": "1990-07-14"}).encode()


@pytest.fixture(scope="module")
def server(issuer: JwksServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server, two workers, for every test that does not change the JWKS."""
    directory = tmp_path_factory.mktemp("auth-server")
    env = tokens.server_environment(issuer, directory)
    process = ServerProcess(env, directory / "server.log").start()
    yield process
    process.stop()


def put(server: ServerProcess, name: str, token: str | None) -> Reply:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return request(f"{server.url}/hello/{name}", "PUT", BODY, headers)


def stored(server: ServerProcess, name: str) -> bool:
    reply = request(f"{server.url}/hello/{name}")
    assert reply.status in (200, 404)
    return reply.status == 200


def test_only_your_own_token_sets_your_birthday(server: ServerProcess, keyring: Keyring) -> None:
    refused = put(server, "carol", None)
    assert refused.status == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"] == 'Bearer realm="hello-birthday"'
    assert not stored(server, "carol")

    forbidden = put(server, "carol", keyring.rsa.sign(tokens.claims("erin")))
    assert forbidden.status == 403
    assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]
    assert not stored(server, "carol")

    assert put(server, "Carol", keyring.ec.sign(tokens.claims("carol"))).status == 204
    greeting = request(f"{server.url}/hello/carol")
    assert greeting.status == 200
    assert greeting.body.startswith(b'{"message": "Hello, carol! ')


def test_an_admin_sets_anyones_birthday(server: ServerProcess, keyring: Keyring) -> None:
    admin = keyring.rsa.sign(tokens.claims("root", **{"cognito:groups": [ADMIN_GROUP]}))
    assert put(server, "dave", admin).status == 204
    assert stored(server, "dave")


@pytest.mark.parametrize("case", tokens.BAD_TOKEN_CASES)
def test_bad_tokens_get_401_and_store_nothing(
    server: ServerProcess, keyring: Keyring, case: str
) -> None:
    token, _ = tokens.bad_tokens(keyring, "alice")[case]
    reply = put(server, "alice", token)
    assert reply.status == 401
    assert reply.headers["www-authenticate"].startswith(
        'Bearer realm="hello-birthday", error="invalid_token"'
    )
    assert not stored(server, "alice")


def test_refusals_are_counted_and_tokens_never_logged(
    server: ServerProcess, keyring: Keyring
) -> None:
    sent = [token for token, _ in tokens.bad_tokens(keyring, "frank").values() if token]
    good = keyring.rsa.sign(tokens.claims("frank"))
    for token in sent:
        put(server, "frank", token)
    put(server, "grace", good)
    assert put(server, "frank", good).status == 204
    metrics = request(server.url + "/metrics").body.decode()
    for reason in ("expired", "signature", "algorithm", "forbidden", "missing_token"):
        assert f'hello_auth_failures_total{{reason="{reason}"}}' in metrics
    log = server.log_path.read_text()
    assert "authentication refused" in log
    for token in [*sent, good]:
        for part in token.split(".")[1:]:
            assert len(part) < 16 or part not in log


@pytest.fixture
def lifecycle(keyring: Keyring, tmp_path: Path) -> Iterator[tuple[ServerProcess, JwksServer]]:
    """A single-worker server, so one JWKS cache sees every request, and its own issuer."""
    with tokens.jwks_server(keyring.jwks()) as jwks:
        jwks.available = False
        env = tokens.server_environment(jwks, tmp_path, HELLO_WORKERS="1")
        process = ServerProcess(env, tmp_path / "server.log").start()
        try:
            yield process, jwks
        finally:
            process.stop()


def test_keys_down_means_503_then_rotated_keys_are_picked_up(
    lifecycle: tuple[ServerProcess, JwksServer], keyring: Keyring
) -> None:
    server, jwks = lifecycle
    token = keyring.rsa.sign(tokens.claims("alice"))

    down = put(server, "alice", token)
    assert down.status == 503
    assert down.headers["retry-after"] == "1"
    assert down.json()["type"] == "urn:hello-birthday:problem:auth-unavailable"  # type: ignore[index]
    assert not stored(server, "alice")
    assert jwks.fetches == 1

    jwks.available = True
    # The failed fetch is not retried within the Retry-After second.
    time.sleep(1.05)
    assert put(server, "alice", token).status == 204
    assert stored(server, "alice")
    assert jwks.fetches == 2

    rotated = tokens.rsa_key("rsa-2")
    jwks.document = tokens.jwks(keyring.rsa, rotated)
    assert put(server, "bob", rotated.sign(tokens.claims("bob"))).status == 204
    assert jwks.fetches == 3

    # Within the cache TTL the issuer being down does not matter.
    jwks.available = False
    assert put(server, "bob", rotated.sign(tokens.claims("bob"))).status == 204
    assert jwks.fetches == 3
