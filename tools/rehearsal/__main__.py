"""Run the rehearsal, write the report, and exit non-zero if any verdict fails."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tools.rehearsal.haproxy import haproxy_version
from tools.rehearsal.measure import ROOT, Result
from tools.rehearsal.report import render
from tools.rehearsal.scenarios import CI, FULL, Profile, crash, roll, storage_fault
from tools.rehearsal.scenarios_canary import CANARY_SCENARIOS
from tools.rehearsal.scenarios_hardening import stalled_bodies, worker_crash
from tools.rehearsal.scenarios_keepalive import KEEPALIVE_SCENARIOS
from tools.rehearsal.scenarios_monitoring import MONITORING_SCENARIOS

Scenario = Callable[[Path, Profile], Result]

SCENARIOS: dict[str, Scenario] = {
    "roll-sqlite": lambda work, profile: roll(work, profile, "sqlite", graceful=True),
    "roll-dynamodb": lambda work, profile: roll(work, profile, "dynamodb", graceful=True),
    "roll-no-drain": lambda work, profile: roll(work, profile, "sqlite", graceful=False),
    "storage-outage": lambda work, profile: storage_fault(work, profile, slow=False),
    "crash": crash,
    "worker-crash": worker_crash,
    "stalled-bodies": stalled_bodies,
    "slow-storage": lambda work, profile: storage_fault(work, profile, slow=True),
    **KEEPALIVE_SCENARIOS,
    **CANARY_SCENARIOS,
    **MONITORING_SCENARIOS,
}


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m tools.rehearsal", description=__doc__)
    parser.add_argument("--profile", choices=("full", "ci"), default="full")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "resilience.md")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "rehearsal")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), default=None)
    arguments = parser.parse_args()
    # A CI timeout sends SIGTERM: exit through the context managers so HAProxy, dynalite and the
    # instances are stopped rather than orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    profile = FULL if arguments.profile == "full" else CI
    shutil.rmtree(arguments.workdir, ignore_errors=True)
    results = []
    load_at_start = os.getloadavg()[0]
    began = time.monotonic()
    chosen = arguments.only or [name for name in SCENARIOS if name not in profile.skip]
    for name in chosen:
        print(f"== {name}", flush=True)
        result = SCENARIOS[name](arguments.workdir / name, profile)
        print(f"   {result.verdict} in {result.seconds:.0f} s", flush=True)
        for check in result.checks:
            print(f"   [{'x' if check.passed else ' '}] {check.expectation}: {check.measured}")
        results.append(result)
    environment = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "profile": f"{profile.name}, scenarios: {', '.join(chosen)}",
        "balancer": haproxy_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "load average when it started (other work shares the machine)": f"{load_at_start:.1f}",
        "wall time": f"{time.monotonic() - began:.0f} s",
    }
    arguments.report.parent.mkdir(parents=True, exist_ok=True)
    arguments.report.write_text(render(results, profile, environment))
    failed = [r.title for r in results if not r.passed]
    print(f"report: {arguments.report}")
    print("VERDICT:", "FAIL — " + "; ".join(failed) if failed else "PASS")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
