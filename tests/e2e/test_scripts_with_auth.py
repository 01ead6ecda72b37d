"""scripts/smoke and scripts/loadtest against the real server with HELLO_AUTH=jwt.

Tokens are signed here and the server reads their keys from a JWKS served on loopback; the
scripts take the token from HELLO_BEARER_TOKEN.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tools.local.server import ServerProcess

from tests.support import tokens
from tests.support.tokens import ADMIN_GROUP, JwksServer, Keyring

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(issuer: JwksServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("scripts-auth-server")
    env = tokens.server_environment(issuer, directory)
    process = ServerProcess(env, directory / "server.log").start()
    yield process
    process.stop()


def run_script(name: str, *args: str, token: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HELLO_BEARER_TOKEN"}
    if token is not None:
        env["HELLO_BEARER_TOKEN"] = token
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def admin_token(keyring: Keyring) -> str:
    return keyring.rsa.sign(tokens.claims("ops", **{"cognito:groups": [ADMIN_GROUP]}))


def test_smoke_passes_with_an_admin_token(server: ServerProcess, keyring: Keyring) -> None:
    result = run_script("smoke", server.url, token=admin_token(keyring))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke test passed: 6 checks" in result.stdout


def test_smoke_without_a_token_fails_on_the_write(server: ServerProcess) -> None:
    result = run_script("smoke", server.url, token=None)

    assert result.returncode == 1
    assert "expected HTTP 204, got 401" in result.stderr


def test_smoke_with_a_plain_users_token_fails_on_the_write(
    server: ServerProcess, keyring: Keyring
) -> None:
    result = run_script("smoke", server.url, token=keyring.rsa.sign(tokens.claims("alice")))

    assert result.returncode == 1
    assert "expected HTTP 204, got 403" in result.stderr


def test_loadtest_passes_with_an_admin_token(server: ServerProcess, keyring: Keyring) -> None:
    result = run_script(
        "loadtest", server.url, "--rate", "10", "--duration", "1", "--users", "3",
        "--max-p99-ms", "1000", token=admin_token(keyring),
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "errors 0 (0.00%)" in result.stdout
