"""Contract fuzzing: schemathesis drives the running server from its own /openapi.json."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.e2e.conftest import StartServer

ROOT = Path(__file__).resolve().parents[2]
SEED = "20261128"
MAX_EXAMPLES = "100"


def test_schemathesis_finds_no_failures(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
    }
    command = [
        str(ROOT / ".venv" / "bin" / "schemathesis"),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--seed",
        SEED,
        "--max-examples",
        MAX_EXAMPLES,
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
    ]
    result = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert "5 selected" in result.stdout.lower() or "Selected: 5/5" in result.stdout
