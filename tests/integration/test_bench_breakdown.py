"""`make bench`'s in-process breakdown runs against the app as create_app builds it today."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from tools.bench.breakdown import ACCESS_LOG, LAYERS
from tools.bench.harness import LUA, USER_PREFIX
from tools.bench.report import ANALYSIS
from tools.local.processes import username

from hello_birthday.storage.sqlite import SQLiteRepository

ROOT = Path(__file__).resolve().parents[2]
USERS = 20


def test_the_breakdown_measures_every_layer_once(tmp_path: Path) -> None:
    database = tmp_path / "bench.sqlite3"
    store = SQLiteRepository(database, timeout=1)
    for index in range(USERS):
        store.save(username(USER_PREFIX, index), date(1990, 4, 1))
    store.close()
    command = [sys.executable, "-m", "tools.bench.breakdown", str(database), str(tmp_path)]
    done = subprocess.run(
        [*command, str(USERS), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout.splitlines()[-1])
    # Every storage decorator create_app wires is found and measured, then the middleware.
    assert [f"+ {label}" for label in LAYERS.values()] == [
        step for step in steps if step.startswith("+ ") and "request id" not in step
    ][: len(LAYERS)]
    assert ACCESS_LOG in steps
    assert all(microseconds > 0 for microseconds in steps.values())


def test_the_bench_finds_its_own_files() -> None:
    # The wrk script and the hand-written analysis are read by path, not imported.
    assert LUA.is_file()
    assert ANALYSIS.is_file()
