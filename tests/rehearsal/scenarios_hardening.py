"""Hardening scenarios: one worker of an instance dies under load and the instance keeps serving."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.rehearsal.fleet import alive
from tests.rehearsal.measure import LoadProcess, Result, Timeline, describe
from tests.rehearsal.scenarios import CLIENT_TIMEOUT, Probe, Profile, check_readable, cluster
from tests.support.processes import process_tree


def worker_crash(workdir: Path, profile: Profile) -> Result:
    """kill -9 one granian worker of one instance under load; only its in-flight requests fail."""
    result = Result(
        "Worker crash (kill -9 one worker of an instance under load, SQLite)",
        f"Two instances, two workers each, on one SQLite file; {profile.fault_rate:.0f} req/s, "
        "50% PUT. One worker process of one instance is SIGKILLed, as an OOM kill or a crash "
        "in a C extension would; nothing else is touched. granian replaces the worker, the "
        "instance's other worker keeps serving, and the balancer never sees it unhealthy.",
    )
    began = time.monotonic()
    env = {"HELLO_SQLITE_PATH": str(workdir / "hello.sqlite3")}
    with cluster(workdir, env) as fleet:
        victim = fleet.instances[0]
        tree = process_tree(victim.server.pid)
        (granian,) = tree[victim.server.pid]
        workers_before = tree[granian]
        with Probe([victim]) as probe:
            timeline = Timeline()
            duration = profile.before_fault + profile.fault + profile.after_fault
            load = LoadProcess(
                fleet.balancer.url,
                workdir / "outcomes.jsonl",
                rate=profile.fault_rate,
                duration=duration,
                put_share=0.5,
                prefix="workercrash",
                timeout=CLIENT_TIMEOUT,
            )
            timeline.origin = load.started
            time.sleep(profile.before_fault)
            killed = timeline.mark(f"kill -9 worker {workers_before[0]} of {victim.name}")
            os.kill(workers_before[0], signal.SIGKILL)
            outcomes = load.finish()
            workers_after = process_tree(victim.server.pid).get(granian, [])
        supervisor_alive = alive(victim.server.pid)
        check_readable(result, fleet.balancer.url, outcomes, "through the balancer")
        flips = fleet.balancer.verdicts(killed, float("inf"))
    result.timeline = timeline.relative()
    failed = [o for o in outcomes if o.failed]
    healthz = probe.statuses("/healthz", killed, float("inf"))
    result.number("answers", describe(outcomes))
    result.number("failed requests (5xx, refused, reset, timeout)", describe(failed) or "0")
    result.number("direct /healthz on the instance after the kill", str(dict(healthz)))
    result.number("workers before / after", f"{workers_before} / {workers_after}")
    result.expect(
        "the instance never stopped listening: every direct /healthz after the kill is 200",
        bool(healthz) and set(healthz) == {200},
        str(dict(healthz)),
    )
    result.expect(
        "the supervisor still runs and the dead worker was replaced",
        supervisor_alive
        and len(workers_after) == len(workers_before)
        and workers_before[0] not in workers_after,
        f"supervisor alive: {supervisor_alive}; workers {workers_before} -> {workers_after}",
    )
    # The dead worker's own in-flight requests are all that may fail: at this rate and these
    # latencies a handful; a server that stopped would fail hundreds.
    result.expect(
        "only the dead worker's in-flight requests failed (at most 10)",
        len(failed) <= 10,
        describe(failed) if failed else "0",
    )
    result.expect("the balancer never marked the instance down", not flips, str(flips))
    result.seconds = time.monotonic() - began
    return result
