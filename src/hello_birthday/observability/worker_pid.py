"""This process's id, for the per-request "am I a fork?" checks, without a system call each.

glibc no longer caches getpid(), so `os.getpid()` enters the kernel every time: the metrics
tally and the access-log flusher asked on every request. A fork hook keeps the answer here.
"""

from __future__ import annotations

import os

_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def current_pid() -> int:
    """os.getpid(), as of the last fork."""
    return _pid
