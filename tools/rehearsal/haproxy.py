"""HAProxy from Debian's package, on loopback, driven through its admin socket like an ALB API."""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.local.ports import free_port

BACKEND = "app"
# An ALB whose targets are all unhealthy "fails open": it sends traffic to every registered
# target anyway. HAProxy would answer 503 itself, so the frontend switches to a backend holding
# the same targets without health checks when the checked one has no server left.
FAIL_OPEN_BACKEND = "fail_open"


@dataclass(frozen=True)
class HealthCheck:
    """The balancer's active check, in the ALB's terms."""

    path: str = "/readyz"
    interval_ms: int = 500
    timeout_ms: int = 1000
    unhealthy_threshold: int = 2
    healthy_threshold: int = 2

    @property
    def detection_seconds(self) -> float:
        """Worst time from a target turning unready to the balancer marking it down."""
        return (self.interval_ms * self.unhealthy_threshold + self.timeout_ms) / 1000


def haproxy_binary() -> str:
    """The haproxy executable; `make rehearse` installs Debian's package when it is missing."""
    found = shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if Path(p).exists()), None
    )
    if found is None:
        raise RuntimeError("haproxy is not installed: apt-get install -y haproxy")
    return found


def haproxy_version() -> str:
    """The first line of `haproxy -v`."""
    out = subprocess.run([haproxy_binary(), "-v"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[0]


def start_haproxy(workdir: Path, config: str, socket_path: Path) -> subprocess.Popen[bytes]:
    """HAProxy in the foreground with this configuration, once its runtime API answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "haproxy.cfg"
    config_path.write_text(config)
    log = (workdir / "haproxy.log").open("ab")
    process = subprocess.Popen(
        [haproxy_binary(), "-db", "-f", str(config_path)], stdout=log, stderr=log
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            runtime_command(socket_path, "show info")
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"haproxy did not start; see {workdir / 'haproxy.log'}"
                ) from None
            time.sleep(0.05)


def stop_haproxy(process: subprocess.Popen[bytes] | None) -> None:
    """Stop HAProxy if it runs."""
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class StateChange:
    """The balancer changed its mind about a slot."""

    at: float
    slot: str
    status: str


@dataclass
class Balancer:
    """HAProxy with a fixed number of server slots, registered and deregistered at run time."""

    workdir: Path
    check: HealthCheck = field(default_factory=HealthCheck)
    slots: int = 4
    # How idle server connections are shared: HAProxy's default keeps a client's first request
    # off other clients' connections; "always" shares them as the ALB does.
    reuse: str = "safe"
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None
    _watcher: threading.Thread | None = None
    _watching: threading.Event = field(default_factory=threading.Event)
    changes: list[StateChange] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def socket_path(self) -> Path:
        """The admin (runtime API) socket."""
        return self.workdir / "haproxy.sock"

    def slot_names(self) -> list[str]:
        """s1, s2, ..."""
        return [f"s{number}" for number in range(1, self.slots + 1)]

    def config(self) -> str:
        """The configuration file: no retries and no redispatch, as an ALB does not retry."""
        check = self.check
        servers = "".join(
            f"    server {name} 127.0.0.1:9 disabled check\n" for name in self.slot_names()
        )
        open_servers = "".join(
            f"    server {name} 127.0.0.1:9 disabled\n" for name in self.slot_names()
        )
        return f"""global
    stats socket {self.socket_path} mode 600 level admin
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout check {check.timeout_ms}ms
    retries 0
    option dontlognull

frontend web
    bind 127.0.0.1:{self.port}
    use_backend {FAIL_OPEN_BACKEND} if {{ nbsrv({BACKEND}) eq 0 }}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    http-reuse {self.reuse}
    option httpchk GET {check.path}
    http-check expect status 200
    default-server inter {check.interval_ms}ms fall {check.unhealthy_threshold} \
rise {check.healthy_threshold}
    http-response set-header X-Served-By %s
{servers}
backend {FAIL_OPEN_BACKEND}
    balance roundrobin
    http-response set-header X-Served-By fail-open-%s
{open_servers}"""

    def start(self) -> Balancer:
        """Start HAProxy in the foreground and wait for its admin socket."""
        self._process = start_haproxy(self.workdir, self.config(), self.socket_path)
        self._watching.set()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()
        return self

    def stop(self) -> None:
        """Stop HAProxy."""
        self._watching.clear()
        if self._watcher is not None:
            self._watcher.join()
        stop_haproxy(self._process)

    def command(self, line: str) -> str:
        """One runtime API command; its answer."""
        return runtime_command(self.socket_path, line)

    def register(self, slot: str, port: int) -> None:
        """Point a slot at an instance and let health checks decide when it gets traffic."""
        for backend in (BACKEND, FAIL_OPEN_BACKEND):
            self._ok(f"set server {backend}/{slot} addr 127.0.0.1 port {port}")
        # Like a new ALB target, the slot gets no traffic until `rise` checks in a row pass.
        # HAProxy 2.6 treats a server leaving maintenance as up at once, so it goes through
        # drain (no new traffic) and is forced down before it is made ready.
        self._ok(f"set server {BACKEND}/{slot} state drain")
        self._ok(f"set server {BACKEND}/{slot} health down")
        self._ok(f"set server {BACKEND}/{slot} state ready")
        self._ok(f"set server {FAIL_OPEN_BACKEND}/{slot} state ready")

    def deregister(self, slot: str) -> None:
        """Take a slot out of both backends."""
        for backend in (BACKEND, FAIL_OPEN_BACKEND):
            self._ok(f"set server {backend}/{slot} state maint")

    def statuses(self) -> dict[str, str]:
        """Each slot's status in the checked backend: UP, DOWN, MAINT, "UP 1/2"..."""
        table = self.command("show stat")
        rows = csv.DictReader(io.StringIO(table.lstrip("# ")))
        return {
            row["svname"]: row["status"]
            for row in rows
            if row["pxname"] == BACKEND and row["svname"] in self.slot_names()
        }

    def server_counters(self, slot: str) -> dict[str, str]:
        """The checked backend's statistics row for a slot (connect, reuse, hrsp_5xx...)."""
        rows = csv.DictReader(io.StringIO(self.command("show stat").lstrip("# ")))
        return next(row for row in rows if row["pxname"] == BACKEND and row["svname"] == slot)

    def wait_for(self, slot: str, status: str, timeout: float) -> float:
        """Wait until the balancer reports the slot in that status; when it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.statuses().get(slot) == status:
                return time.monotonic()
            time.sleep(0.02)
        raise TimeoutError(f"{slot} not {status} after {timeout}s: {self.statuses()}")

    def first_change(self, slot: str, status: str, after: float) -> float | None:
        """When the watcher first saw the slot in that status after a moment."""
        return next(
            (c.at for c in self.changes if c.slot == slot and c.status == status and c.at >= after),
            None,
        )

    def verdicts(self, start: float, end: float) -> list[tuple[float, str, str]]:
        """When a slot went from UP to DOWN or back in a window (not "UP 1/2" and the like)."""
        last: dict[str, str] = {}
        flips = []
        for change in self.changes:
            state = change.status.split()[0]
            previous = last.get(change.slot)
            flipped = {state, previous} == {"UP", "DOWN"}
            if flipped and start <= change.at <= end:
                flips.append((change.at, change.slot, state))
            last[change.slot] = state
        return flips

    def _ok(self, line: str) -> None:
        answer = self.command(line).strip()
        if answer and "changed" not in answer and "no need" not in answer.lower():
            raise RuntimeError(f"haproxy refused {line!r}: {answer}")

    def _watch(self) -> None:
        # A timeline of the balancer's view, to tell when it noticed what the rehearsal did.
        last: dict[str, str] = {}
        while self._watching.is_set():
            try:
                current = self.statuses()
            except OSError:
                current = last
            now = time.monotonic()
            for slot, status in current.items():
                if last.get(slot) != status:
                    self.changes.append(StateChange(now, slot, status))
            last = current
            time.sleep(0.02)


def runtime_command(socket_path: Path, line: str) -> str:
    """One command to the HAProxy runtime API listening on `socket_path`; its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as admin:
        admin.settimeout(5)
        admin.connect(str(socket_path))
        admin.sendall(line.encode() + b"\n")
        chunks = []
        while chunk := admin.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()
