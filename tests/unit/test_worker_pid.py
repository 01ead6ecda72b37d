"""The cached process id follows a fork, as os.getpid() would."""

from __future__ import annotations

import os

from hello_birthday.observability.worker_pid import current_pid


def test_a_forked_child_sees_its_own_pid() -> None:
    assert current_pid() == os.getpid()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits at once
        os.write(writing, str(current_pid()).encode())
        os._exit(0)
    os.close(writing)
    seen = int(os.read(reading, 32))
    os.close(reading)
    os.waitpid(child, 0)
    assert seen == child
    assert current_pid() == os.getpid()
