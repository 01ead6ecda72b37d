"""What the worker entry point sets up for its process, checked in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hello_birthday.front import GIL_SWITCH_SECONDS

_PROBE = (
    "import sys; from hello_birthday.front import create_front_from_env; "
    "create_front_from_env(); print(sys.getswitchinterval())"
)


def test_a_worker_hands_the_gil_over_sooner_than_python_does(tmp_path: Path) -> None:
    env = {**os.environ, "HELLO_SQLITE_PATH": str(tmp_path / "hello.sqlite3")}
    env.pop("HELLO_RUNTIME_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.split()[-1]) == GIL_SWITCH_SECONDS
    assert GIL_SWITCH_SECONDS < 0.005  # Python's default
