"""Run the benchmark and write the report: `python -m tools.bench` (what `make bench` runs)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hello_birthday.settings import Settings
from tools.bench import harness, report
from tools.bench.harness import ROOT, USER_PREFIX, Load, Server
from tools.local.dynalite import Dynalite
from tools.local.ports import free_port
from tools.local.processes import process_tree, username

GRANIAN = [sys.executable, "-m", "granian", "--interface", "wsgi", "--no-access-log"]
SERVICE = [str(ROOT / ".venv" / "bin" / "hello-birthday"), "serve"]
GUNICORN_REQUIREMENT = "gunicorn==23.0.0"
TABLE = "hello-birthday-bench"
# The open-loop rates, as shares of what ours served closed-loop at the first connection count.
# The generator is Python and takes more of the shared CPU than wrk: at 0.7 ours fell behind
# (its queue grew for the whole run), so 0.5 is the rate at which the tails of two servers that
# keep up are compared, and 0.7 shows what falling behind looks like.
OPEN_LOOP_SHARES = (0.5, 0.7)
OPEN_LOOP_CONNECTIONS = 64


@dataclass
class Run:
    """One measured wrk run against one server."""

    target: str
    method: str
    connections: int
    load: Load
    server_cpu_seconds: float
    wrk_cpu_seconds: float
    other_cpu_seconds: float
    load_average: float


@dataclass
class Footprint:
    """Start-up time and memory of one server configuration."""

    target: str
    ready_seconds: float
    workers_kib: list[tuple[int, int]]


@dataclass
class Results:
    """Everything the report is made from."""

    started: str
    settings: dict[str, object]
    machine: dict[str, str]
    versions: dict[str, str]
    load_average_start: tuple[float, float, float]
    load_average_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    finished: str = ""
    fsync_ms: list[float] = field(default_factory=list)
    sqlite_commits_per_s: dict[str, float] = field(default_factory=dict)
    user_load_seconds: dict[str, float] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    footprints: list[Footprint] = field(default_factory=list)
    commands: dict[str, str] = field(default_factory=dict)
    breakdown_us: dict[str, float] = field(default_factory=dict)
    openloop: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Bench:
    """The run: servers one at a time, each under the same wrk loads."""

    def __init__(self, arguments: argparse.Namespace) -> None:
        self.duration: float = arguments.duration
        self.warmup: float = arguments.warmup
        self.users: int = arguments.users
        self.connections: tuple[int, ...] = tuple(arguments.connections)
        self.workers: int = arguments.workers
        # What a server started without HELLO_THREADS runs with; the others are compared to it.
        self.threads = Settings().threads
        self.thread_counts = sorted({self.threads, 4, 1}, reverse=True)
        self.workdir: Path = arguments.workdir
        self.uv: str = arguments.uv
        self.put_runs = 0
        self.results = Results(
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            settings={
                "duration_s": self.duration,
                "warmup_s": self.warmup,
                "users": self.users,
                "connections": list(self.connections),
                "workers": self.workers,
                "threads": self.threads,
            },
            machine=report.machine(),
            versions=report.versions(),
            load_average_start=os.getloadavg(),
        )

    # -- servers -------------------------------------------------------------------------

    def service(self, name: str, threads: int, env: dict[str, str]) -> Server:
        """Ours, started as `make run` starts it."""
        port = free_port()
        full_env = {
            "HELLO_PORT": str(port),
            "HELLO_WORKERS": str(self.workers),
            "HELLO_THREADS": str(threads),
            # Stopping between configurations need not wait out a load balancer.
            "HELLO_DRAIN_SECONDS": "0",
            "HELLO_LOG_LEVEL": "INFO",
            **env,
        }
        log = self.workdir / "logs" / f"{name}.log"
        return Server(name, SERVICE, full_env, port, "/readyz", log)

    def reference(self, name: str, module: str, threads: int, database: Path) -> Server:
        """A reference app on granian with our worker and thread counts."""
        port = free_port()
        command = [
            *GRANIAN,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(self.workers),
            "--blocking-threads",
            str(threads),
            module,
        ]
        probe = f"/hello/{username(USER_PREFIX, 0)}"
        env = {"BENCH_SQLITE_PATH": str(database)}
        return Server(name, command, env, port, probe, self.workdir / "logs" / f"{name}.log")

    def gunicorn(self, name: str, worker_class: str, threads: int, database: Path) -> Server:
        """Ours on gunicorn, with the runtime directory our supervisor would have made."""
        port = free_port()
        runtime = self.workdir / f"runtime-{name}"
        shutil.rmtree(runtime, ignore_errors=True)
        (runtime / "metrics").mkdir(parents=True)
        command = [
            self.uv,
            "run",
            "--frozen",
            "--no-sync",
            "--with",
            GUNICORN_REQUIREMENT,
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "hello_birthday.app:create_app_from_env()",
        ]
        env = {
            "HELLO_SQLITE_PATH": str(database),
            "HELLO_LOG_LEVEL": "INFO",
            "HELLO_RUNTIME_DIR": str(runtime),
            "PROMETHEUS_MULTIPROC_DIR": str(runtime / "metrics"),
        }
        return Server(name, command, env, port, "/readyz", self.workdir / "logs" / f"{name}.log")

    @contextmanager
    def running(self, server: Server) -> Iterator[Server]:
        """Start, yield, record the footprint, stop."""
        shown = {
            k: v for k, v in server.env.items() if k.startswith(("HELLO_", "BENCH_", "PROMETHEUS_"))
        }
        command = [*server.command[:-1], repr(server.command[-1])]
        line = " ".join([*(f"{k}={v}" for k, v in shown.items()), *command])
        self.results.commands[server.name] = (
            line.replace(str(ROOT) + "/", "")
            .replace(sys.executable, "python")
            .replace(f"={server.port}", "=PORT")
            .replace(f":{server.port}", ":PORT")
            .replace(f" {server.port} ", " PORT ")
        )
        server.start()
        print(f"{server.name}: ready in {server.ready_seconds:.2f}s", flush=True)
        try:
            yield server
            self.results.footprints.append(
                Footprint(server.name, server.ready_seconds, server.worker_memory())
            )
        finally:
            server.stop()

    # -- loads ---------------------------------------------------------------------------

    def measure(self, server: Server, method: str, connections: int, *script: str) -> Run:
        """One wrk run, with the CPU time of the server, of wrk and of everything else."""
        pids = list(process_tree(server.pid).keys())
        server_before = harness.process_cpu_seconds(pids)
        machine_before = harness.machine_busy_seconds()
        wrk_before = _children_cpu()
        load = harness.wrk(server.url, connections, self.duration, *script)
        wrk_cpu = _children_cpu() - wrk_before
        machine = harness.machine_busy_seconds() - machine_before
        server_cpu = harness.process_cpu_seconds(pids) - server_before
        run = Run(
            target=server.name,
            method=method,
            connections=connections,
            load=load,
            server_cpu_seconds=server_cpu,
            wrk_cpu_seconds=wrk_cpu,
            other_cpu_seconds=max(0.0, machine - server_cpu - wrk_cpu),
            load_average=os.getloadavg()[0],
        )
        self.results.runs.append(run)
        self.results.commands.setdefault(f"wrk {method}", load.command.replace(server.url, "URL"))
        print(
            f"  {method} c={connections}: {load.rate:,.0f} req/s p50 {load.p50_ms:.2f} ms "
            f"p99 {load.p99_ms:.2f} ms errors {load.failed} "
            f"(other CPU {run.other_cpu_seconds / load.seconds:.2f} cores)",
            flush=True,
        )
        return run

    def gets(self, server: Server) -> None:
        """Warm up, then GET at each connection count."""
        script = ("get", USER_PREFIX, str(self.users))
        harness.wrk(server.url, self.connections[0], self.warmup, *script)
        for connections in self.connections:
            self.measure(server, "GET", connections, *script)

    def puts(self, server: Server, connections: int) -> None:
        """PUT new users (a prefix per run keeps every write an insert of a new key)."""
        self.put_runs += 1
        prefix = f"put{username('', self.put_runs)}x"
        self.measure(server, "PUT", connections, "put", prefix, "0")

    # -- the configurations --------------------------------------------------------------

    def sqlite(self) -> Path:
        """Ours on SQLite: load the users, then GET at the default and the other thread counts."""
        directory = self.workdir / "sqlite"
        shutil.rmtree(directory, ignore_errors=True)
        database = directory / "hello.sqlite3"
        env = {"HELLO_STORAGE": "sqlite", "HELLO_SQLITE_PATH": str(database)}
        name = f"ours-sqlite-{self.threads}t"
        with self.running(self.service(name, self.threads, env)) as server:
            self.results.user_load_seconds["sqlite"] = harness.load_users(server.url, self.users)
            self.check_greeting(server)
            self.gets(server)
        for threads in self.thread_counts:
            if threads != self.threads:
                with self.running(self.service(f"ours-sqlite-{threads}t", threads, env)) as server:
                    self.gets(server)
        return database

    def writes(self, database: Path) -> None:
        """PUTs last, so that every GET above read the same database, WAL included."""
        env = {"HELLO_STORAGE": "sqlite", "HELLO_SQLITE_PATH": str(database)}
        with self.running(self.service(f"ours-sqlite-{self.threads}t", self.threads, env)) as s:
            for connections in self.connections:
                self.puts(s, connections)

    def references(self, database: Path) -> None:
        """The framework's floor and the Python ceiling, same load, same database."""
        for name, module in (
            ("flask-floor", "tools.bench.reference_flask:app"),
            ("wsgi-ceiling", "tools.bench.reference_wsgi:application"),
        ):
            for threads in sorted({self.threads, 1}, reverse=True):
                with self.running(
                    self.reference(f"{name}-{threads}t", module, threads, database)
                ) as server:
                    self.check_greeting(server)
                    self.gets(server)

    def servers(self, database: Path) -> None:
        """Ours on gunicorn sync and gthread, to set against granian."""
        for name, worker_class, threads in (
            ("ours-gunicorn-sync", "sync", 1),
            (f"ours-gunicorn-gthread-{self.threads}t", "gthread", self.threads),
        ):
            server = self.gunicorn(name, worker_class, threads, database)
            with self.running(server):
                self.check_greeting(server)
                self.gets(server)

    def open_loop(self, database: Path) -> None:
        """Ours and the floor at one fixed rate; latency from when each request was due."""
        ours = next(
            (
                run
                for run in self.results.runs
                if run.target == f"ours-sqlite-{self.threads}t"
                and run.method == "GET"
                and run.connections == self.connections[0]
            ),
            None,
        )
        if ours is None:
            return
        rates = [round(ours.load.rate * share) for share in OPEN_LOOP_SHARES]
        env = {"HELLO_STORAGE": "sqlite", "HELLO_SQLITE_PATH": str(database)}
        flask = "tools.bench.reference_flask:app"
        for server in (
            self.service(f"ours-sqlite-{self.threads}t", self.threads, env),
            self.reference(f"flask-floor-{self.threads}t", flask, self.threads, database),
        ):
            server.start()
            try:
                harness.wrk(server.url, self.connections[0], self.warmup, "get", USER_PREFIX, "1")
                for rate in rates:
                    measured = self.open_loop_run(server, rate)
                    corrected = measured["corrected_ms"]
                    print(
                        f"  open loop {rate}/s: {server.name} p99 {corrected['p99']} ms "
                        f"p99.9 {corrected['p999']} ms errors {measured['errors']}",
                        flush=True,
                    )
            finally:
                server.stop()

    def open_loop_run(self, server: Server, rate: int) -> dict[str, Any]:
        """One run of tools/bench/openloop.py, in a process of its own like wrk."""
        arguments = [str(rate), f"{self.duration:g}", str(OPEN_LOOP_CONNECTIONS)]
        arguments += [USER_PREFIX, str(self.users)]
        command = [sys.executable, "-m", "tools.bench.openloop", server.url, *arguments]
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=self.duration + 60,
        )
        line = done.stdout.strip().splitlines()[-1].removeprefix("OPENLOOP_JSON ")
        measured: dict[str, Any] = {"target": server.name, **json.loads(line)}
        self.results.openloop.append(measured)
        shown = " ".join(["python -m tools.bench.openloop URL", *arguments])
        self.results.commands.setdefault("open loop", shown)
        return measured

    def dynamodb(self) -> None:
        """Ours on dynalite: the same GET load, reported, not targeted."""
        dynalite = Dynalite().start()
        try:
            dynalite.create_table(TABLE)
            env = dynalite.environment(TABLE)
            started = time.monotonic()
            harness.load_dynalite(dynalite.client(), TABLE, self.users)
            self.results.user_load_seconds["dynamodb"] = time.monotonic() - started
            name = f"ours-dynamodb-{self.threads}t"
            with self.running(self.service(name, self.threads, env)) as server:
                self.check_greeting(server)
                self.gets(server)
        finally:
            dynalite.stop()

    def breakdown(self, database: Path) -> None:
        """CPU per GET in-process, our extras added one at a time (tools/bench/breakdown.py)."""
        command = [sys.executable, "-m", "tools.bench.breakdown", str(database), str(self.workdir)]
        command.append(str(self.users))
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300
        )
        self.results.breakdown_us = json.loads(done.stdout.splitlines()[-1])
        self.results.commands["breakdown"] = (
            "python -m tools.bench.breakdown DATABASE WORKDIR USERS"
        )
        print(f"breakdown (us CPU per GET, in-process): {self.results.breakdown_us}", flush=True)

    @staticmethod
    def check_greeting(server: Server) -> None:
        """Every server must give the same answer for the same user, or the race is not fair."""
        status, body = harness.get(server.url, f"/hello/{username(USER_PREFIX, 1)}")
        message = json.loads(body).get("message", "") if status == 200 else ""
        if not message.startswith(f"Hello, {username(USER_PREFIX, 1)}! "):
            raise RuntimeError(f"{server.name} answered {status} {body!r}")

    def run(self, parts: list[str]) -> Results:
        """Everything, in order; the report is written even if a later part is skipped."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        fsync = harness.fsync_latency(self.workdir / "sqlite")
        self.results.fsync_ms = [round(x * 1000, 4) for x in fsync]
        for synchronous in ("FULL", "NORMAL"):
            rate = harness.sqlite_commit_rate(self.workdir / "sqlite", synchronous)
            self.results.sqlite_commits_per_s[synchronous] = round(rate)
        database = self.sqlite()
        self.breakdown(database)
        steps: dict[str, Callable[[], None]] = {
            "references": lambda: self.references(database),
            "openloop": lambda: self.open_loop(database),
            "gunicorn": lambda: self.servers(database),
            "writes": lambda: self.writes(database),
            "dynamodb": self.dynamodb,
        }
        for part in [p for p in steps if p in {*parts, "writes"}]:
            try:
                steps[part]()
            except (RuntimeError, OSError, subprocess.SubprocessError) as error:
                # One broken part (dynalite falling over, say) must not cost the rest.
                self.results.failures.append(f"{part}: {error}")
                print(f"{part} failed: {error}", file=sys.stderr, flush=True)
        self.results.load_average_end = os.getloadavg()
        self.results.finished = datetime.now(UTC).isoformat(timespec="seconds")
        return self.results


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Parse arguments, run, write the JSON results and the report."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--connections", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--uv", default=shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv"))
    parser.add_argument(
        "--parts",
        nargs="*",
        choices=("references", "openloop", "gunicorn", "dynamodb"),
        default=["references", "openloop", "gunicorn", "dynamodb"],
        help="what to run after ours on SQLite (always run)",
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the report from WORKDIR/results.json (after editing tools/bench/analysis.md)",
    )
    arguments = parser.parse_args()
    raw = arguments.workdir / "results.json"
    if arguments.render_only:
        saved = json.loads(raw.read_text())
        results = _results_from_json(saved)
        arguments.report.write_text(report.render(results, saved["elapsed_s"]))
        print(f"wrote {arguments.report} from {raw}")
        return
    started = time.monotonic()
    results = Bench(arguments).run(arguments.parts)
    elapsed = time.monotonic() - started
    raw.write_text(json.dumps({**asdict(results), "elapsed_s": elapsed}, indent=2))
    arguments.report.write_text(report.render(results, elapsed))
    print(f"wrote {arguments.report} and {raw} in {elapsed:.0f}s")


def _results_from_json(saved: dict[str, Any]) -> Results:
    fields = {k: v for k, v in saved.items() if k != "elapsed_s"}
    fields["runs"] = [Run(**{**r, "load": Load(**r["load"])}) for r in saved["runs"]]
    fields["footprints"] = [
        Footprint(f["target"], f["ready_seconds"], [tuple(x) for x in f["workers_kib"]])
        for f in saved["footprints"]
    ]
    fields["load_average_start"] = tuple(saved["load_average_start"])
    fields["load_average_end"] = tuple(saved["load_average_end"])
    return Results(**fields)


if __name__ == "__main__":
    main()
