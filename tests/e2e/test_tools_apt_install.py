"""tools/apt-install: a present tool is left alone; without root, the exact command is printed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "apt-install"


def test_a_tool_that_is_there_needs_nothing() -> None:
    done = subprocess.run(
        [SCRIPT, "sh", "dash", "a test"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to become nobody"
)
def test_without_root_it_prints_the_install_command_and_fails() -> None:
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    done = subprocess.run(
        [*as_nobody, SCRIPT, "no-such-tool-here", "some-package", "make something"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "make something needs 'no-such-tool-here'" in done.stderr
    assert "sudo apt-get update && sudo apt-get install -y some-package" in done.stderr
