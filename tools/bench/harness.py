"""Servers started as their own processes, wrk runs against them, and /proc readings."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.local.processes import process_tree, username

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ROOT = Path(__file__).resolve().parents[2]
LUA = ROOT / "tools" / "bench" / "wrk.lua"
USER_PREFIX = "bench"
DATE_OF_BIRTH = "1990-05-17"


def _http(url: str, path: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def get(url: str, path: str) -> tuple[int, bytes]:
    """One GET on a fresh connection."""
    return _http(url, path)


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmHWM, VmRSS) in KiB: the peak and the current resident set."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0])
    return fields["VmHWM"], fields["VmRSS"]


@dataclass
class Server:
    """A server process (and its process group) started for the bench."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    probe: str
    log: Path
    ready_seconds: float = 0.0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Server:
        """Start it and time how long until the probe path answers 200."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            started = time.monotonic()
            self._process = subprocess.Popen(
                self.command,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        while time.monotonic() - started < timeout:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log}")
            try:
                if get(self.url, self.probe)[0] == 200:
                    self.ready_seconds = time.monotonic() - started
                    return self
            except OSError:
                pass
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {timeout}s; see {self.log}")

    @property
    def pid(self) -> int:
        """The process the bench started (a supervisor, a granian main or uv)."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    def workers(self) -> list[int]:
        """The worker processes: the leaves of the process tree."""
        tree = process_tree(self.pid)
        return [pid for pid, children in tree.items() if not children]

    def worker_memory(self) -> list[tuple[int, int]]:
        """(VmHWM, VmRSS) in KiB of each live worker (a zombie has no memory to show)."""
        readings = []
        for pid in self.workers():
            try:
                readings.append(memory_kib(pid))
            except (OSError, KeyError):
                continue
        return readings

    def stop(self) -> None:
        """SIGTERM to the supervisor, then to the whole group if anything is left."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # Our supervisor puts granian in a session of its own; a reference app is its own group.
        for pid in process_tree(process.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self._process = None


def load_users(url: str, count: int, prefix: str = USER_PREFIX, clients: int = 16) -> float:
    """PUT count users through the API, each answered 204; returns the seconds it took."""
    body = json.dumps({"dateOfBirth": DATE_OF_BIRTH}).encode()
    host, port = url.removeprefix("http://").split(":")
    local = threading.local()

    def put(index: int) -> None:
        connection: http.client.HTTPConnection | None = getattr(local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            local.connection = connection
        connection.request(
            "PUT",
            f"/hello/{username(prefix, index)}",
            body=body,
            headers={"Content-Type": "application/json"},
        )
        reply = connection.getresponse()
        reply.read()
        if reply.status != 204:
            raise RuntimeError(f"loading user {index}: HTTP {reply.status}")

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(put, range(count)))
    return time.monotonic() - started


def load_dynalite(client: DynamoDBClient, table: str, count: int) -> None:
    """Write count users straight into the table, 25 to a batch (dynalite takes ~150 PUTs/s)."""
    items = [
        {
            "PutRequest": {
                "Item": {
                    "username": {"S": username(USER_PREFIX, index)},
                    "dateOfBirth": {"S": DATE_OF_BIRTH},
                }
            }
        }
        for index in range(count)
    ]
    for start in range(0, count, 25):
        pending: Any = {table: items[start : start + 25]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")


@dataclass(frozen=True)
class Load:
    """One wrk run's outcome."""

    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    command: str
    # Runs recorded before wrk.lua reported it have none.
    p999_ms: float = float("nan")

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds

    @property
    def failed(self) -> int:
        """Socket errors, timeouts and non-2xx/3xx answers."""
        return sum(self.errors.values())


def wrk_command(url: str, connections: int, seconds: float, *script_args: str) -> list[str]:
    """wrk with one thread (the load generator gets at most one core)."""
    return [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA.relative_to(ROOT)),
        url,
        "--",
        *script_args,
    ]


def wrk(url: str, connections: int, seconds: float, *script_args: str) -> Load:
    """Run wrk and parse the line wrk.lua's done() prints."""
    command = wrk_command(url, connections, seconds, *script_args)
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-500:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON "))
    data = json.loads(line.removeprefix("BENCH_JSON "))
    latency = data["latency_us"]
    return Load(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        p999_ms=latency["p999"] / 1000,
        max_ms=latency["max"] / 1000,
        command=" ".join(command),
    )


def fsync_latency(directory: Path, rounds: int = 300) -> list[float]:
    """Seconds per 4 KiB write + fdatasync in directory: the floor of one durable commit."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fsync-probe"
    block = os.urandom(4096)
    timings = []
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for index in range(rounds):
            started = time.perf_counter()
            os.pwrite(descriptor, block, (index % 64) * 4096)
            os.fdatasync(descriptor)
            timings.append(time.perf_counter() - started)
    finally:
        os.close(descriptor)
        path.unlink()
    return timings


_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    # guest time is already counted in user time
    return (sum(values[:8]) - idle) / _TICK


def sqlite_commit_rate(directory: Path, synchronous: str, commits: int = 2000) -> float:
    """Upserts per second from one connection, each its own transaction, on the service's schema.

    The ceiling for PUTs on SQLite: writers take turns, so no number of threads goes past it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"commit-probe-{synchronous.lower()}.sqlite3"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.execute(
            "CREATE TABLE birthdays (username_key TEXT PRIMARY KEY NOT NULL,"
            " date_of_birth TEXT NOT NULL) WITHOUT ROWID"
        )
        started = time.perf_counter()
        for index in range(commits):
            connection.execute(
                "INSERT INTO birthdays (username_key, date_of_birth) VALUES (?, ?)"
                " ON CONFLICT (username_key) DO UPDATE SET date_of_birth = excluded.date_of_birth",
                (username("probe", index), DATE_OF_BIRTH),
            )
        return commits / (time.perf_counter() - started)
    finally:
        connection.close()
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
