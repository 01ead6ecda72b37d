"""Contract fuzzing with HELLO_AUTH=jwt: the served document, security included, matches behaviour.

With an admin token every documented answer is reachable; schemathesis's ignored_auth check also
replays requests without the token and expects the 401 the document declares.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.e2e.conftest import StartServer
from tests.support import tokens
from tests.support.tokens import ADMIN_GROUP, AUDIENCE, ISSUER, Keyring

ROOT = Path(__file__).resolve().parents[2]


def test_schemathesis_finds_no_failures_with_auth_on(
    start_server: StartServer, tmp_path: Path
) -> None:
    keys = Keyring.generate()
    admin = keys.rsa.sign(
        tokens.claims("root", exp=int(time.time()) + 3600, **{"cognito:groups": [ADMIN_GROUP]})
    )
    with tokens.jwks_server(keys.jwks()) as jwks:
        server = start_server(
            HELLO_AUTH="jwt",
            HELLO_AUTH_READS="required",
            HELLO_JWT_JWKS_URL=jwks.url,
            HELLO_JWT_ISSUER=ISSUER,
            HELLO_JWT_AUDIENCE=AUDIENCE,
            HELLO_JWT_ADMIN_SCOPE=ADMIN_GROUP,
        )
        command = [
            str(ROOT / ".venv" / "bin" / "schemathesis"),
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {admin}",
            "--checks",
            "all",
            "--seed",
            "20261128",
            "--max-examples",
            "25",
            "--generation-database",
            "none",
            "--request-timeout",
            "10",
        ]
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        }
        result = subprocess.run(
            command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    # ignored_auth did replay requests without the token, and they were refused as documented.
    refused = [line for line in server.log_lines() if line.get("status") == 401]
    assert refused
