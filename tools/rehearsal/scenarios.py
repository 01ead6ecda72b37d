"""The scenarios: rolling deploys (and a broken one), storage outage, crash, slow storage.

Each is two steps: `run_*` drives the load and the fault and records what happened (outcomes,
timeline, what was read back) without judging it; `judge_*` turns that record into numbers and
verdicts. A new scenario is a run that records what its judge needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hello_birthday.settings import Settings
from tools.local.dynalite import Dynalite
from tools.local.server import request
from tools.rehearsal.fleet import Fleet, Instance, alive
from tools.rehearsal.haproxy import Balancer, HealthCheck
from tools.rehearsal.load import Outcome, unreadable
from tools.rehearsal.measure import (
    LoadProcess,
    Result,
    Timeline,
    between,
    describe,
    is_clean_503,
    ms,
    percentile,
    succeeded,
)
from tools.rehearsal.slowproxy import DelayProxy

TABLE = "hello-birthday-rehearsal"
CHECK = HealthCheck()
# Longer than the balancer needs to mark a draining instance down (fall x inter + check timeout),
# so no request reaches an instance after it stops accepting connections.
DRAIN_SECONDS = 3.0
STORAGE_TIMEOUT = 0.5
STORAGE_ATTEMPTS = 3
# botocore's standard retry mode sleeps up to 1 s, then up to 2 s, between its three attempts.
BACKOFF_SECONDS = 3.0
# The longest a request may take when storage fails: every attempt runs into both timeouts, with
# the longest backoffs, and a second of slack for the machine being busy.
STORAGE_BOUND = STORAGE_ATTEMPTS * 2 * STORAGE_TIMEOUT + BACKOFF_SECONDS + 1.0
CLIENT_TIMEOUT = 10.0
# Load kept up after the roll, so the last replaced instance's exit is inside the measurement.
TAIL_SECONDS = 3.0


@dataclass(frozen=True)
class Profile:
    """How long and how hard each scenario runs."""

    name: str
    rate: float
    # dynalite is one Node process on LevelDB, not DynamoDB: past about 100 req/s on two shared
    # vCPUs the rehearsal would measure dynalite's queue instead of the deploy.
    dynamodb_rate: float
    baseline: float
    roll_budget: float
    fault_rate: float
    before_fault: float
    fault: float
    after_fault: float
    # Scenarios this profile leaves out to stay short.
    skip: tuple[str, ...] = ()


FULL = Profile(
    "full",
    rate=200,
    dynamodb_rate=100,
    baseline=15,
    roll_budget=40,
    fault_rate=100,
    before_fault=5,
    fault=10,
    after_fault=10,
)
CI = Profile(
    "ci",
    rate=100,
    dynamodb_rate=60,
    baseline=5,
    roll_budget=40,
    fault_rate=60,
    before_fault=3,
    fault=5,
    after_fault=6,
    # DynamoDB still runs in CI, in the outage and slow-storage scenarios. Of the canary
    # scenarios CI runs the bad release (five runs in a row passed at a load average of 3.5 to
    # 5.7 on two vCPUs); the others show the same controller from other sides.
    # The three alert scenarios take about 45 s each; CI keeps the outage (an alert that must
    # fire) and the clean roll (alerts that must not), and leaves the absence alert to `full`.
    skip=(
        "roll-dynamodb",
        "canary-good",
        "canary-smoke-fails",
        "rolling-bad",
        "alert-metrics-missing",
    ),
)


def start_load(
    url: str, workdir: Path, *, rate: float, duration: float, put_share: float, prefix: str
) -> tuple[LoadProcess, Timeline]:
    """The load, from a process of its own, and a timeline that counts from its start."""
    load = LoadProcess(
        url,
        workdir / "outcomes.jsonl",
        rate=rate,
        duration=duration,
        put_share=put_share,
        prefix=prefix,
        timeout=CLIENT_TIMEOUT,
    )
    timeline = Timeline()
    timeline.origin = load.started
    return load, timeline


def base_env(workdir: Path) -> dict[str, str]:
    """What every instance gets besides its storage."""
    return {
        "HELLO_WORKERS": "2",
        "HELLO_DRAIN_SECONDS": str(DRAIN_SECONDS),
        "HELLO_LOG_LEVEL": "INFO",
        "TMPDIR": str(workdir),
    }


@contextlib.contextmanager
def cluster(workdir: Path, env: dict[str, str], size: int = 2) -> Iterator[Fleet]:
    """A balancer with `size` healthy instances; everything stopped afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    balancer = Balancer(workdir, CHECK).start()
    fleet = Fleet(balancer, workdir, {**base_env(workdir), **env})
    try:
        fleet.launch_many(size)
        yield fleet
    finally:
        fleet.stop_all()
        balancer.stop()


@contextlib.contextmanager
def dynalite(workdir: Path) -> Iterator[Dynalite]:
    """dynalite keeping its data on disk, so a restart keeps what was written."""
    data = workdir / "dynalite-data"
    data.mkdir(parents=True, exist_ok=True)
    server = Dynalite(data_dir=data).start()
    try:
        server.create_table(TABLE)
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Readback:
    """Every acknowledged PUT read back after the run: which did not greet with their date."""

    where: str
    acknowledged: int
    missing: list[str]


def read_back(url: str, outcomes: list[Outcome], where: str) -> Readback:
    """Read every acknowledged PUT's user back from `url` (while the fleet still runs)."""
    acknowledged = sum(1 for o in outcomes if o.method == "PUT" and o.status == 204)
    return Readback(where, acknowledged, asyncio.run(unreadable(url, outcomes)))


def judge_readback(result: Result, readback: Readback) -> None:
    """Every PUT that got a 204 must greet back with the date it stored."""
    missing = readback.missing
    result.number("acknowledged PUTs", readback.acknowledged)
    result.expect(
        f"every acknowledged PUT is readable afterwards ({readback.where})",
        readback.acknowledged > 0 and not missing,
        f"{readback.acknowledged - len(missing)}/{readback.acknowledged} readable"
        + (f"; first: {missing[:3]}" if missing else ""),
    )


def exited_on_their_own(fleet: Fleet) -> list[str]:
    """Instances the rehearsal did not stop that no longer run (something else signalled them)."""
    return [i.name for i in fleet.instances if not alive(i.server.pid)]


def judge_survivors(result: Result, dead: list[str]) -> None:
    """Instances the rehearsal did not stop must still run."""
    result.expect(
        "no instance stopped unless the rehearsal stopped it",
        not dead,
        f"exited on their own: {', '.join(dead)}" if dead else "none",
    )


def load_numbers(result: Result, outcomes: list[Outcome], env: dict[str, str]) -> None:
    """The load's size and its answers, and how big each instance is."""
    # Read as the instances read it: some defaults depend on the storage engine.
    settings = Settings.from_env({**os.environ, **base_env(Path()), **env})
    result.number(
        "each instance", f"HELLO_WORKERS={settings.workers}, HELLO_THREADS={settings.threads}"
    )
    seconds = max(o.due for o in outcomes) - min(o.due for o in outcomes)
    result.number(
        "requests",
        f"{len(outcomes)} in {seconds:.0f} s "
        f"({len(outcomes) / seconds:.0f}/s), "
        f"{sum(o.method == 'PUT' for o in outcomes)} PUT",
    )
    result.number("answers", describe(outcomes))
    served = Counter(o.served_by or "-" for o in outcomes)
    result.number(
        "served by (balancer slot; a replacement reuses a slot)",
        ", ".join(f"{k}: {v}" for k, v in sorted(served.items())),
    )


@dataclass
class RollRun:
    """What a rolling deploy under load did and saw."""

    env: dict[str, str]
    outcomes: list[Outcome]
    timeline: Timeline
    load_started: float
    roll_start: float
    roll_end: float
    # (instance, exit code, seconds from SIGTERM to exit)
    exits: list[tuple[str, int, float]]
    dead: list[str]
    readback: Readback


def run_roll(workdir: Path, profile: Profile, engine: str, *, graceful: bool) -> RollRun:
    """Replace every instance one at a time under load, as ECS does with 100%/200%."""
    rate = profile.dynamodb_rate if engine == "dynamodb" else profile.rate
    env = {} if graceful else {"HELLO_DRAIN_SECONDS": "0"}
    with contextlib.ExitStack() as stack:
        if engine == "dynamodb":
            db = stack.enter_context(dynalite(workdir))
            env |= db.environment(TABLE) | {"HELLO_STORAGE_TIMEOUT": str(STORAGE_TIMEOUT)}
        else:
            env["HELLO_SQLITE_PATH"] = str(workdir / "hello.sqlite3")
        fleet = stack.enter_context(cluster(workdir, env))
        balancer = fleet.balancer
        duration = profile.baseline + profile.roll_budget
        load, timeline = start_load(
            balancer.url,
            workdir,
            rate=rate,
            duration=duration,
            put_share=0.5,
            prefix=f"roll{engine}{'' if graceful else 'broken'}",
        )
        time.sleep(profile.baseline)
        roll_start = timeline.mark("roll starts")
        exits = []
        for old in list(fleet.instances):
            new = fleet.launch()
            timeline.mark(f"{new.name} UP in {new.slot}")
            sent = timeline.mark(f"SIGTERM {old.name} ({old.slot})")
            code = _terminate_watching(fleet, old, timeline, sent)
            exits.append((old.name, code, time.monotonic() - sent))
        roll_end = timeline.mark("roll done")
        time.sleep(TAIL_SECONDS)
        load.stop()
        outcomes = load.finish()
        dead = exited_on_their_own(fleet)
        readback = read_back(balancer.url, outcomes, "through the balancer")
    return RollRun(
        env, outcomes, timeline, load.started, roll_start, roll_end, exits, dead, readback
    )


def judge_roll(run: RollRun, engine: str, rate: float, *, graceful: bool) -> Result:
    """The roll's numbers, and whether it lost nothing (or, broken, was caught failing)."""
    title = f"Rolling deployment, {engine}" + ("" if graceful else " — counter-case: no drain")
    story = (
        f"Two instances behind HAProxy on {engine}; {rate:.0f} req/s of 50% PUT / 50% "
        "GET from a separate process. Each instance is replaced in turn: start the new one, wait "
        "until the balancer marks it UP, SIGTERM the old one, wait for it to exit. Latency "
        "during the roll includes the new instance's start-up competing for the same two CPUs."
    )
    if not graceful:
        story += (
            " The instances run with HELLO_DRAIN_SECONDS=0: they stop accepting connections as "
            "soon as they get SIGTERM, before the balancer has noticed. This run must show "
            "errors, or the rehearsal cannot tell a broken deploy from a good one."
        )
    result = Result(title, story, counter_case=not graceful)
    outcomes, roll_start, roll_end = run.outcomes, run.roll_start, run.roll_end
    judge_survivors(result, run.dead)
    judge_readback(result, run.readback)
    result.timeline = run.timeline.relative()
    load_end = max(o.ended for o in outcomes)
    before = between(outcomes, run.load_started, roll_start)
    during = between(outcomes, roll_start, roll_end)
    failed = [o for o in outcomes if o.failed]
    load_numbers(result, outcomes, run.env)
    result.number("roll took", f"{roll_end - roll_start:.1f} s")
    for name, code, took in run.exits:
        result.number(f"{name} after SIGTERM", f"exit code {code} after {took:.1f} s")
    result.number(
        "p50 / p99 / max before the roll",
        " / ".join(ms(percentile((o.latency for o in before), q)) for q in (0.5, 0.99))
        + f" / {ms(max((o.latency for o in before), default=float('nan')))}",
    )
    result.number(
        "p50 / p99 / max during the roll",
        " / ".join(ms(percentile((o.latency for o in during), q)) for q in (0.5, 0.99))
        + f" / {ms(max((o.latency for o in during), default=float('nan')))}",
    )
    result.number(
        "failed requests (5xx, refused, reset, timeout)",
        f"{len(failed)}" + (f" — {describe(failed)}" if failed else ""),
    )
    lost = [o for o in outcomes if o.method == "GET" and o.status == 404]
    result.expect(
        "the whole roll happened under load",
        run.load_started < roll_start and roll_end < load_end,
        f"load from 0 to {load_end - run.load_started:.1f} s, roll from "
        f"{roll_start - run.load_started:.1f} to {roll_end - run.load_started:.1f} s",
    )
    if graceful:
        result.expect("0 failed requests", not failed, describe(failed) if failed else "0")
        unexpected = [o for o in outcomes if not succeeded(o)]
        result.expect(
            "every answer is the one asked for (204 / 200)",
            not unexpected,
            describe(unexpected) if unexpected else f"{len(outcomes)}/{len(outcomes)}",
        )
        result.expect(
            "old instances exit 0 after draining",
            all(code == 0 for _, code, _ in run.exits),
            ", ".join(f"{name}: {code}" for name, code, _ in run.exits),
        )
    else:
        result.expect(
            "the broken roll is caught: failed requests > 0",
            bool(failed),
            describe(failed) if failed else "0 — the rehearsal is blind",
        )
    result.expect("no GET of an acknowledged user answered 404", not lost, str(len(lost)))
    return result


def roll(workdir: Path, profile: Profile, engine: str, *, graceful: bool) -> Result:
    """Run a rolling deploy, then judge it."""
    began = time.monotonic()
    rate = profile.dynamodb_rate if engine == "dynamodb" else profile.rate
    result = judge_roll(
        run_roll(workdir, profile, engine, graceful=graceful), engine, rate, graceful=graceful
    )
    result.seconds = time.monotonic() - began
    return result


def _terminate_watching(fleet: Fleet, old: Instance, timeline: Timeline, sent: float) -> int:
    slot = old.slot
    code = fleet.terminate(old)
    exited = timeline.mark(f"{old.name} exited with {code}")
    down = fleet.balancer.first_change(slot, "DOWN", sent)
    if down is not None and down < exited:
        timeline.events.append((down, f"balancer marks {slot} DOWN"))
    return code


class Probe:
    """Polls each instance's /readyz, /healthz and in-flight gauge directly, one thread each.

    Separate threads, so a probe stuck in one instance's queue does not delay the others.
    """

    PATHS = ("/readyz", "/healthz", "/metrics")

    def __init__(self, instances: list[Instance], every: float = 0.1) -> None:
        self.every = every
        # (started, instance, path, status or gauge value, seconds taken)
        self.samples: list[tuple[float, str, str, float | None, float]] = []
        self._running = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(instance, path), daemon=True)
            for instance in instances
            for path in self.PATHS
        ]

    def __enter__(self) -> Probe:
        self._running.set()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._running.clear()
        for thread in self._threads:
            thread.join()

    def _run(self, instance: Instance, path: str) -> None:
        while self._running.is_set():
            start = time.monotonic()
            value: float | None
            try:
                reply = request(instance.server.url + path, timeout=CLIENT_TIMEOUT)
                value = _gauge(reply.body) if path == "/metrics" else reply.status
            except OSError:
                value = None
            self.samples.append((start, instance.name, path, value, time.monotonic() - start))
            time.sleep(self.every)

    def statuses(self, path: str, start: float, end: float) -> Counter[float | None]:
        """How often each status was seen on a path in a window."""
        return Counter(s[3] for s in self.samples if s[2] == path and start <= s[0] < end)

    def slowest(self, path: str, start: float, end: float) -> float:
        """The longest a probe on a path took, of those started in a window."""
        return max((s[4] for s in self.samples if s[2] == path and start <= s[0] < end), default=0)

    def peak(self, path: str, start: float, end: float) -> float:
        """The highest value read on a path in a window."""
        return max(
            (s[3] for s in self.samples if s[2] == path and start <= s[0] < end and s[3]),
            default=0,
        )

    def ready_again(self, after: float) -> float | None:
        """When every instance answered /readyz 200 for good after a moment."""
        last_bad = max(
            (s[0] + s[4] for s in self.samples if s[2] == "/readyz" and s[3] != 200), default=after
        )
        later = [s[0] + s[4] for s in self.samples if s[2] == "/readyz" and s[0] > last_bad]
        return min(later, default=None)


def _gauge(exposition: bytes) -> float | None:
    for line in exposition.decode().splitlines():
        if line.startswith("hello_http_requests_in_flight"):
            return float(line.split()[-1])
    return None


@dataclass
class FaultRun:
    """What a storage fault under load did and saw."""

    env: dict[str, str]
    outcomes: list[Outcome]
    timeline: Timeline
    probe: Probe
    fault_start: float
    fault_end: float
    # The balancer's verdicts from the fault's start to the last answer: (when, slot, status)
    verdicts: list[tuple[float, str, str]]
    restarted: list[str]
    readback: Readback


def run_storage_fault(workdir: Path, profile: Profile, *, slow: bool) -> FaultRun:
    """Stop dynalite (or make it slower than the client timeout) under load, then bring it back."""
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(dynalite(workdir))
        env = db.environment(TABLE) | {"HELLO_STORAGE_TIMEOUT": str(STORAGE_TIMEOUT)}
        proxy: DelayProxy | None = None
        if slow:
            proxy = DelayProxy(db.port).start()
            stack.callback(proxy.stop)
            env["AWS_ENDPOINT_URL_DYNAMODB"] = proxy.endpoint
        fleet = stack.enter_context(cluster(workdir, env))
        pids = {i.name: i.server.pid for i in fleet.instances}
        probe = stack.enter_context(Probe(list(fleet.instances)))
        duration = profile.before_fault + profile.fault + profile.after_fault
        load, timeline = start_load(
            fleet.balancer.url,
            workdir,
            rate=profile.fault_rate,
            duration=duration,
            put_share=0.5,
            prefix="slow" if slow else "outage",
        )
        time.sleep(profile.before_fault)
        if proxy is not None:
            proxy.delay = 2.0
            fault_start = timeline.mark("storage answers 2 s late")
            time.sleep(profile.fault)
            proxy.delay = 0.0
            fault_end = timeline.mark("storage answers at once again")
        else:
            db.stop()
            fault_start = timeline.mark("dynalite stopped")
            time.sleep(profile.fault)
            db.start()
            fault_end = timeline.mark("dynalite answering again")
        outcomes = load.finish()
        load_end = max(o.ended for o in outcomes)
        readback = read_back(fleet.balancer.url, outcomes, "through the balancer")
        restarted = [name for name, pid in pids.items() if not alive(pid)]
    verdicts = fleet.balancer.verdicts(fault_start, load_end)
    return FaultRun(
        env, outcomes, timeline, probe, fault_start, fault_end, verdicts, restarted, readback
    )


def judge_storage_fault(run: FaultRun, profile: Profile, *, slow: bool) -> Result:
    """Failing storage must reach clients as clean 503s, bounded in time, and heal by itself."""
    if slow:
        title = "Slow storage (DynamoDB answers after the client timeout)"
        story = (
            f"Two instances on dynalite through a TCP proxy in the rehearsal; "
            f"{profile.fault_rate:.0f} req/s, 50% PUT. For {profile.fault:.0f} s the proxy holds "
            f"every answer back 2 s, beyond HELLO_STORAGE_TIMEOUT={STORAGE_TIMEOUT} s."
        )
    else:
        title = "Storage outage (dynalite stopped)"
        story = (
            f"Two instances on dynalite; {profile.fault_rate:.0f} req/s, 50% PUT. dynalite is "
            f"stopped for {profile.fault:.0f} s, then started again on the same data directory; "
            "the instances are not restarted. The balancer fails open like an ALB when no "
            "target is healthy, so clients see the service's own answers."
        )
    result = Result(title, story)
    outcomes, probe = run.outcomes, run.probe
    fault_start, fault_end = run.fault_start, run.fault_end
    judge_readback(result, run.readback)
    result.timeline = run.timeline.relative()
    for at, slot, status in run.verdicts:
        result.timeline.append((at - run.timeline.origin, f"balancer marks {slot} {status}"))
    result.timeline.sort()
    fault_window = between(outcomes, fault_start, fault_end)
    settle = fault_end + 5.0
    after = between(outcomes, settle, float("inf"))
    not_clean = [
        o
        for o in outcomes
        if not succeeded(o) and not is_clean_503(o) and not (o.method == "GET" and o.status == 404)
    ]
    lost = [o for o in outcomes if o.method == "GET" and o.status == 404]
    slowest = max((o.latency for o in outcomes), default=0.0)
    load_numbers(result, outcomes, run.env)
    result.number("answers while storage was failing", describe(fault_window))
    result.number(
        "p50 / p99 / max latency while failing",
        f"{ms(percentile((o.latency for o in fault_window), 0.5))} / "
        f"{ms(percentile((o.latency for o in fault_window), 0.99))} / "
        f"{ms(max((o.latency for o in fault_window), default=0.0))}",
    )
    result.number(
        "/readyz on the instances while failing",
        _counts(probe.statuses("/readyz", fault_start + 1.5, fault_end)),
    )
    healthz_slowest = probe.slowest("/healthz", fault_start, fault_end)
    result.number("slowest direct /healthz while failing", ms(healthz_slowest))
    ready_at = probe.ready_again(fault_end)
    recovery = None if ready_at is None else ready_at - fault_end
    result.number(
        "all /readyz 200 again after", "never" if recovery is None else f"{recovery:.1f} s"
    )
    last_bad = max((o.ended for o in outcomes if not succeeded(o)), default=fault_end)
    result.number("last non-2xx answer", f"{last_bad - fault_end:+.1f} s after storage was back")
    result.expect(
        "storage failure reached clients as 503s",
        any(is_clean_503(o) for o in fault_window),
        describe(fault_window),
    )
    result.expect(
        "every non-2xx is a 503 problem+json with Retry-After (no 500, no "
        "connection error, no timeout)",
        not not_clean,
        describe(not_clean) if not_clean else "all clean",
    )
    result.expect(
        f"no request takes longer than the storage bound "
        f"({STORAGE_BOUND:.0f} s = {STORAGE_ATTEMPTS} attempts x 2 x "
        f"{STORAGE_TIMEOUT} s + {BACKOFF_SECONDS:.0f} s backoff + 1 s)",
        slowest <= STORAGE_BOUND,
        f"slowest {ms(slowest)}",
    )
    result.expect(
        "/readyz answered 503 while storage was failing",
        probe.statuses("/readyz", fault_start + 1.5, fault_end)[503] > 0,
        _counts(probe.statuses("/readyz", fault_start + 1.5, fault_end)),
    )
    result.expect(
        "full recovery without a restart: every request due 5 s after storage is "
        "back succeeds, same processes",
        bool(after) and all(succeeded(o) for o in after) and not run.restarted,
        f"{describe(after)}; restarted: {run.restarted or 'none'}",
    )
    result.expect("no GET of an acknowledged user answered 404", not lost, str(len(lost)))
    if slow:
        result.number(
            "peak in-flight gauge on an instance (requests inside the app)",
            f"{probe.peak('/metrics', fault_start, fault_end):.0f}",
        )
        result.expect(
            "liveness stays quick (direct /healthz under 1 s): workers are not piled up",
            healthz_slowest < 1.0,
            ms(healthz_slowest),
        )
    return result


def storage_fault(workdir: Path, profile: Profile, *, slow: bool) -> Result:
    """Run a storage fault, then judge it."""
    began = time.monotonic()
    result = judge_storage_fault(run_storage_fault(workdir, profile, slow=slow), profile, slow=slow)
    result.seconds = time.monotonic() - began
    return result


def _counts(counter: Counter[float | None]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items(), key=str)) or "none"


@dataclass
class CrashRun:
    """What a kill -9 under write-heavy load did and saw."""

    env: dict[str, str]
    outcomes: list[Outcome]
    timeline: Timeline
    killed: float
    down: float
    integrity: str
    dead: list[str]
    readback: Readback


def run_crash(workdir: Path, profile: Profile) -> CrashRun:
    """kill -9 one instance during write-heavy load; replace it as ECS replaces a dead task."""
    database = workdir / "hello.sqlite3"
    env = {"HELLO_SQLITE_PATH": str(database)}
    with cluster(workdir, env) as fleet:
        balancer = fleet.balancer
        duration = profile.before_fault + profile.fault + profile.after_fault
        load, timeline = start_load(
            balancer.url,
            workdir,
            rate=profile.fault_rate,
            duration=duration,
            put_share=0.9,
            prefix="crash",
        )
        time.sleep(profile.before_fault)
        victim = fleet.instances[0]
        killed = timeline.mark(f"kill -9 {victim.name} ({victim.slot})")
        fleet.crash(victim)
        down = balancer.wait_for(victim.slot, "DOWN", timeout=10)
        timeline.events.append((down, f"balancer marks {victim.slot} DOWN"))
        fleet.forget(victim)
        replacement = fleet.launch(slot=victim.slot)
        timeline.mark(f"{replacement.name} UP in {replacement.slot}")
        outcomes = load.finish()
        dead = exited_on_their_own(fleet)
        readback = read_back(
            replacement.server.url,
            outcomes,
            f"directly from the replacement {replacement.name}",
        )
    with sqlite3.connect(database) as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    return CrashRun(env, outcomes, timeline, killed, down, integrity, dead, readback)


def judge_crash(run: CrashRun, profile: Profile) -> Result:
    """Only the dead instance's requests fail, it is noticed in time, and the file is intact."""
    result = Result(
        "Crash (kill -9 an instance under write-heavy load, SQLite)",
        f"Two instances on one SQLite file; {profile.fault_rate:.0f} req/s, 90% PUT. One "
        "instance's whole process tree is SIGKILLed; once the balancer marks it DOWN it is "
        "deregistered and a new instance started in its place, as ECS replaces a dead task.",
    )
    killed, down, integrity = run.killed, run.down, run.integrity
    judge_survivors(result, run.dead)
    judge_readback(result, run.readback)
    result.timeline = run.timeline.relative()
    window_end = down + 0.5
    failed = [o for o in run.outcomes if o.failed]
    inside = [o for o in failed if killed <= o.ended <= window_end]
    outside = [o for o in failed if not killed <= o.ended <= window_end]
    load_numbers(result, run.outcomes, run.env)
    result.number("balancer marked the dead instance DOWN after", f"{down - killed:.2f} s")
    result.number(
        "failed requests between the kill and DOWN",
        f"{len(inside)}" + (f" — {describe(inside)}" if inside else ""),
    )
    result.number("SQLite integrity_check", integrity)
    result.expect(
        "the balancer routes around the dead instance: no failure after it is marked DOWN (+0.5 s)",
        not outside,
        describe(outside) if outside else "0 after DOWN",
    )
    result.expect(
        f"it is marked DOWN within the check's detection time ({CHECK.detection_seconds:.1f} s)",
        down - killed <= CHECK.detection_seconds + 0.5,
        f"{down - killed:.2f} s",
    )
    result.expect("the database is intact", integrity == "ok", integrity)
    return result


def crash(workdir: Path, profile: Profile) -> Result:
    """Run a crash, then judge it."""
    began = time.monotonic()
    result = judge_crash(run_crash(workdir, profile), profile)
    result.seconds = time.monotonic() - began
    return result
