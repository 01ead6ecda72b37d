"""Hardening scenarios: a worker dies, or bodies stall, under load; the instance keeps serving.

Each is a run that records and a judge that decides, as in scenarios.py.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from hello_birthday.settings import Settings
from tools.local.processes import process_tree
from tools.local.stalled import KINDS, StalledClients
from tools.rehearsal.fleet import alive
from tools.rehearsal.load import Outcome
from tools.rehearsal.measure import (
    Result,
    Timeline,
    between,
    describe,
    ms,
    percentile,
    succeeded,
)
from tools.rehearsal.scenarios import (
    CHECK,
    CLIENT_TIMEOUT,
    Probe,
    Profile,
    Readback,
    cluster,
    judge_readback,
    read_back,
    start_load,
)


@dataclass
class WorkerCrashRun:
    """What killing one worker under load did and saw."""

    outcomes: list[Outcome]
    timeline: Timeline
    probe: Probe
    killed: float
    workers_before: list[int]
    workers_after: list[int]
    supervisor_alive: bool
    flips: list[tuple[float, str, str]]
    readback: Readback


def run_worker_crash(workdir: Path, profile: Profile) -> WorkerCrashRun:
    """kill -9 one granian worker of one instance under load."""
    env = {"HELLO_SQLITE_PATH": str(workdir / "hello.sqlite3")}
    with cluster(workdir, env) as fleet:
        victim = fleet.instances[0]
        tree = process_tree(victim.server.pid)
        (granian,) = tree[victim.server.pid]
        workers_before = tree[granian]
        with Probe([victim]) as probe:
            duration = profile.before_fault + profile.fault + profile.after_fault
            load, timeline = start_load(
                fleet.balancer.url,
                workdir,
                rate=profile.fault_rate,
                duration=duration,
                put_share=0.5,
                prefix="workercrash",
            )
            time.sleep(profile.before_fault)
            killed = timeline.mark(f"kill -9 worker {workers_before[0]} of {victim.name}")
            os.kill(workers_before[0], signal.SIGKILL)
            outcomes = load.finish()
            workers_after = process_tree(victim.server.pid).get(granian, [])
        supervisor_alive = alive(victim.server.pid)
        readback = read_back(fleet.balancer.url, outcomes, "through the balancer")
        flips = fleet.balancer.verdicts(killed, float("inf"))
    return WorkerCrashRun(
        outcomes,
        timeline,
        probe,
        killed,
        workers_before,
        workers_after,
        supervisor_alive,
        flips,
        readback,
    )


def judge_worker_crash(run: WorkerCrashRun, profile: Profile) -> Result:
    """Only the dead worker's in-flight requests fail; the instance never stops serving."""
    result = Result(
        "Worker crash (kill -9 one worker of an instance under load, SQLite)",
        f"Two instances, two workers each, on one SQLite file; {profile.fault_rate:.0f} req/s, "
        "50% PUT. One worker process of one instance is SIGKILLed, as an OOM kill or a crash "
        "in a C extension would; nothing else is touched. granian replaces the worker, the "
        "instance's other worker keeps serving, and the balancer never sees it unhealthy.",
    )
    judge_readback(result, run.readback)
    result.timeline = run.timeline.relative()
    before, after = run.workers_before, run.workers_after
    failed = [o for o in run.outcomes if o.failed]
    healthz = run.probe.statuses("/healthz", run.killed, float("inf"))
    result.number("answers", describe(run.outcomes))
    result.number("failed requests (5xx, refused, reset, timeout)", describe(failed) or "0")
    result.number("direct /healthz on the instance after the kill", str(dict(healthz)))
    result.number("workers before / after", f"{before} / {after}")
    result.expect(
        "the instance never stopped listening: every direct /healthz after the kill is 200",
        bool(healthz) and set(healthz) == {200},
        str(dict(healthz)),
    )
    result.expect(
        "the supervisor still runs and the dead worker was replaced",
        run.supervisor_alive and len(after) == len(before) and before[0] not in after,
        f"supervisor alive: {run.supervisor_alive}; workers {before} -> {after}",
    )
    # The dead worker's own in-flight requests are all that may fail: at this rate and these
    # latencies a handful; a server that stopped would fail hundreds.
    result.expect(
        "only the dead worker's in-flight requests failed (at most 10)",
        len(failed) <= 10,
        describe(failed) if failed else "0",
    )
    result.expect("the balancer never marked the instance down", not run.flips, str(run.flips))
    return result


def worker_crash(workdir: Path, profile: Profile) -> Result:
    """Run the worker crash, then judge it."""
    began = time.monotonic()
    result = judge_worker_crash(run_worker_crash(workdir, profile), profile)
    result.seconds = time.monotonic() - began
    return result


# The instances' body deadline, kept at the default the service ships with.
_BODY_TIMEOUT = Settings().body_timeout
_STALLS_PER_KIND = 50
_HTTP1_KINDS = tuple(kind for kind in KINDS if kind != "http2-stalled")


@dataclass
class StalledRun:
    """What the waves of stalled clients met, and how the load and the probes fared meanwhile."""

    outcomes: list[Outcome]
    timeline: Timeline
    probe: Probe
    first: float
    last: float
    stalls: Counter[tuple[str, str]]
    slowest_stall: float
    flips: list[tuple[float, str, str]]
    readback: Readback


def run_stalled_bodies(workdir: Path, profile: Profile) -> StalledRun:
    """Waves of clients that never finish their bodies, under load through the balancer."""
    env = {"HELLO_SQLITE_PATH": str(workdir / "hello.sqlite3")}
    with cluster(workdir, env) as fleet:
        victim = fleet.instances[0]
        balancer_port = int(fleet.balancer.url.rsplit(":", 1)[1])
        with Probe(fleet.instances) as probe:
            duration = profile.before_fault + profile.fault + profile.after_fault
            load, timeline = start_load(
                fleet.balancer.url,
                workdir,
                rate=profile.fault_rate,
                duration=duration,
                put_share=0.5,
                prefix="stalled",
            )
            time.sleep(profile.before_fault)
            first = timeline.mark(f"stalled clients start, {_STALLS_PER_KIND} of each kind a wave")
            stalls: Counter[tuple[str, str]] = Counter()
            slowest_stall = 0.0
            waves = 0
            while time.monotonic() < first + profile.fault:
                with (
                    StalledClients(
                        "127.0.0.1", balancer_port, _STALLS_PER_KIND, kinds=_HTTP1_KINDS
                    ) as through_balancer,
                    StalledClients(
                        "127.0.0.1", victim.server.port, _STALLS_PER_KIND, kinds=("http2-stalled",)
                    ) as direct,
                ):
                    for clients in (through_balancer, direct):
                        stalls += clients.wait(timeout=_BODY_TIMEOUT + CLIENT_TIMEOUT)
                        slowest_stall = max(slowest_stall, clients.slowest())
                waves += 1
            last = timeline.mark(f"{waves} waves of stalled clients answered")
            outcomes = load.finish()
        readback = read_back(fleet.balancer.url, outcomes, "through the balancer")
        flips = fleet.balancer.verdicts(first, float("inf"))
    return StalledRun(
        outcomes, timeline, probe, first, last, stalls, slowest_stall, flips, readback
    )


def judge_stalled_bodies(run: StalledRun, profile: Profile) -> Result:
    """Every stalled client meets the deadline; /healthz and the load keep being served."""
    result = Result(
        "Stalled bodies (hundreds of PUTs that never finish their body, SQLite)",
        f"Two instances, two workers of four threads each, on one SQLite file; "
        f"{profile.fault_rate:.0f} req/s, 50% PUT, through the balancer. Meanwhile wave after "
        f"wave of {_STALLS_PER_KIND} clients of each kind declare a body and stall: a "
        "Content-Length larger than what they send, an unfinished chunked body, "
        "`Expect: 100-continue` then nothing (these through the balancer, as an ALB forwards "
        "them) and a stalled HTTP/2 upload straight to one instance. Before the RSGI front, 8 "
        "of them held every thread of an instance and its /healthz failed.",
    )
    judge_readback(result, run.readback)
    result.timeline = run.timeline.relative()
    outcomes, probe, stalls, slowest_stall = run.outcomes, run.probe, run.stalls, run.slowest_stall
    failed = [o for o in outcomes if o.failed]
    during = [o for o in between(outcomes, run.first, run.last) if succeeded(o)]
    healthz = probe.statuses("/healthz", run.first, run.last)
    slowest_healthz = probe.slowest("/healthz", run.first, run.last)
    p99 = percentile((o.latency for o in during), 0.99) if during else float("inf")
    result.number("answers", describe(outcomes))
    result.number("failed requests (5xx, refused, reset, timeout)", describe(failed) or "0")
    result.number("stalled clients (kind: answer)", _stall_summary(stalls))
    result.number("slowest answer to a stalled client", ms(slowest_stall))
    result.number("direct /healthz while they stalled", str(dict(healthz)))
    result.number("slowest direct /healthz while they stalled", ms(slowest_healthz))
    result.number("p99 of the load while they stalled", ms(p99))
    result.expect(
        "every stalled client was answered 408 (none held without a deadline)",
        bool(stalls) and {outcome for _, outcome in stalls} == {"408"},
        _stall_summary(stalls),
    )
    result.expect(
        "each was answered about the body deadline after it began "
        f"({_BODY_TIMEOUT:g} s, at most {CLIENT_TIMEOUT:g} s more on a busy machine)",
        _BODY_TIMEOUT <= slowest_stall < _BODY_TIMEOUT + CLIENT_TIMEOUT,
        ms(slowest_stall),
    )
    result.expect("no request of the load failed", not failed, describe(failed) or "0")
    result.expect(
        "every direct /healthz was 200, each within the balancer's check timeout",
        bool(healthz) and set(healthz) == {200} and slowest_healthz < CHECK.timeout_ms / 1000,
        f"{dict(healthz)}, slowest {ms(slowest_healthz)}",
    )
    result.expect(
        "the load's p99 stayed under the body deadline while they stalled",
        p99 < _BODY_TIMEOUT,
        ms(p99),
    )
    result.expect("the balancer never marked an instance down", not run.flips, str(run.flips))
    return result


def stalled_bodies(workdir: Path, profile: Profile) -> Result:
    """Run the stalled bodies, then judge them."""
    began = time.monotonic()
    result = judge_stalled_bodies(run_stalled_bodies(workdir, profile), profile)
    result.seconds = time.monotonic() - began
    return result


def _stall_summary(stalls: Counter[tuple[str, str]]) -> str:
    return ", ".join(
        f"{kind} {outcome}: {count}" for (kind, outcome), count in sorted(stalls.items())
    )
