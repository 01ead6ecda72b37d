"""Instances of the service started as `make run` starts them, each in a balancer slot."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tools.local.processes import process_tree
from tools.local.server import ServerProcess
from tools.rehearsal.haproxy import Balancer


@dataclass
class Instance:
    """One running copy of the service and the balancer slot it is registered in."""

    name: str
    slot: str
    server: ServerProcess
    exit_code: int | None = None

    @property
    def port(self) -> int:
        """Its own port."""
        return self.server.port


@dataclass
class Fleet:
    """The running instances behind one balancer, all sharing one storage engine."""

    balancer: Balancer
    workdir: Path
    env: dict[str, str]
    instances: list[Instance] = field(default_factory=list)
    started: int = 0

    def launch(self, slot: str | None = None) -> Instance:
        """Start an instance, register it, and wait until the balancer sees it healthy."""
        return self.launch_many(1, slot)[0]

    def launch_many(self, count: int, slot: str | None = None) -> list[Instance]:
        """Start instances side by side (startup is mostly imports), then register them all."""
        used = {instance.slot for instance in self.instances}
        free = [slot] if slot else [s for s in self.balancer.slot_names() if s not in used]
        new = []
        for index in range(count):
            self.started += 1
            name = f"instance-{self.started}"
            server = ServerProcess(self.env, self.workdir / f"{name}.log")
            new.append(Instance(name, free[index], server))
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(lambda instance: instance.server.start(), new))
        for instance in new:
            self.instances.append(instance)
            self.balancer.register(instance.slot, instance.port)
        for instance in new:
            self.balancer.wait_for(instance.slot, "UP", timeout=15)
        return new

    def terminate(self, instance: Instance, timeout: float = 40) -> int:
        """SIGTERM as ECS stops a task; wait for the exit, then deregister the slot."""
        instance.server.signal(signal.SIGTERM)
        instance.exit_code = instance.server.wait(timeout=timeout)
        self._forget(instance)
        return instance.exit_code

    def crash(self, instance: Instance) -> None:
        """kill -9 every process of the instance at once, as a host failure would."""
        tree = list(process_tree(instance.server.pid))
        # Freeze first: a supervisor killed alone would have its granian stopped gracefully
        # (PDEATHSIG is SIGTERM), which is not a crash.
        for pid in tree:
            _send(pid, signal.SIGSTOP)
        for pid in tree:
            _send(pid, signal.SIGKILL)
        instance.exit_code = instance.server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in tree[1:]) and time.monotonic() < deadline:
            time.sleep(0.02)

    def forget(self, instance: Instance) -> None:
        """Deregister a dead instance, as ECS does once the balancer reports it unhealthy."""
        self._forget(instance)

    def stop_all(self) -> None:
        """Stop whatever still runs, without waiting for drains: nothing is measured any more."""
        for _ in range(2):
            # The supervisor skips the rest of its drain on a second SIGTERM.
            for instance in self.instances:
                if alive(instance.server.pid):
                    instance.server.signal(signal.SIGTERM)
            time.sleep(0.1)
        for instance in list(self.instances):
            instance.server.stop()
            self.instances.remove(instance)

    def _forget(self, instance: Instance) -> None:
        self.balancer.deregister(instance.slot)
        self.instances.remove(instance)


def _send(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
