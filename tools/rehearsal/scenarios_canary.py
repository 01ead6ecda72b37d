"""Canary scenarios: a good release, a bad one rolled back, a smoke failure, and rolling's cost."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from pathlib import Path

from tools.local.server import ServerProcess
from tools.rehearsal.canary import (
    ERROR_RATIO_THRESHOLD,
    Outcome,
    Steps,
    ThrottlingStorage,
    WeightedBalancer,
    canary_deploy,
)
from tools.rehearsal.load import Outcome as Request
from tools.rehearsal.measure import LoadProcess, Result, describe
from tools.rehearsal.scenarios import (
    CLIENT_TIMEOUT,
    TABLE,
    Profile,
    base_env,
    dynalite,
)

RATE = 30.0
# dynalite on a busy shared machine can take longer than the roll scenarios' 0.5 s; a timeout
# there would be blamed on the release.
CANARY_STORAGE_TIMEOUT = 2.0
SLO = 0.999
MONTH_SECONDS = 30 * 24 * 3600
STEPS = Steps(canary_percent=10, canary_bake=8.0, deployment_bake=4.0)
# Writes the bad revision's storage accepts per second: one smoke test's PUT passes, real
# traffic's do not.
BAD_WRITES_PER_SECOND = 0.5


def budget_share(failed: int, rate: float) -> float:
    """Failed requests as a share of a month's error budget at the SLO, at this steady rate."""
    return failed / ((1 - SLO) * rate * MONTH_SECONDS)


def canary(workdir: Path, profile: Profile, kind: str) -> Result:
    """Deploy `kind` (good, bad, smoke-fails, rolling-bad) under load and judge the outcome."""
    titles = {
        "good": "Canary deploy, good release",
        "bad": "Canary deploy, bad release (writes throttled), rolled back by the alarm",
        "smoke": "Canary deploy, release failing its smoke test",
        "rolling": "Rolling deploy of the same bad release — counter-case: no canary",
    }
    stories = {
        "good": "The new revision is healthy: canary, full shift and bake must complete with "
        "0 failed requests.",
        "bad": "The new revision's storage path accepts only "
        f"{BAD_WRITES_PER_SECOND} writes/s (a fault proxy in front of dynalite answers "
        "ProvisionedThroughputExceededException, as a table with too little capacity does). "
        "Readiness and the smoke test pass; real writes fail. The alarm, reading HAProxy's "
        "Prometheus exporter per target, must roll it back during the canary bake.",
        "smoke": "The new revision's storage throttles every write: /readyz passes, the smoke "
        "test's PUT fails, so it must never receive production traffic.",
        "rolling": "The same bad release, deployed as a rolling deploy does (new task healthy, "
        "old task stopped, no bake, no alarm-driven rollback): it must reach all traffic "
        "(DETECTED), which is what the canary saves.",
    }
    result = Result(titles[kind], stories[kind], counter_case=kind == "rolling")
    began = time.monotonic()
    env = base_env(workdir) | {"HELLO_STORAGE_TIMEOUT": str(CANARY_STORAGE_TIMEOUT)}
    with contextlib.ExitStack() as stack:
        workdir.mkdir(parents=True, exist_ok=True)
        db = stack.enter_context(dynalite(workdir))
        env |= db.environment(TABLE)
        new_env = dict(env)
        proxy: ThrottlingStorage | None = None
        if kind != "good":
            rate = 0.0 if kind == "smoke" else BAD_WRITES_PER_SECOND
            proxy = ThrottlingStorage(db.port, rate).start()
            stack.callback(proxy.stop)
            new_env["AWS_ENDPOINT_URL_DYNAMODB"] = proxy.endpoint
        balancer = WeightedBalancer(workdir).start()
        stack.callback(balancer.stop)
        old = ServerProcess(env, workdir / "old.log").start()
        stack.callback(old.stop)
        balancer.register("blue", old.port)
        balancer.healthy("blue", timeout=15)
        balancer.weights(blue=100)
        new = ServerProcess(new_env, workdir / "new.log")
        stack.callback(new.stop)

        def start_new() -> str:
            new.start()
            balancer.register("green", new.port)
            return new.url

        load = LoadProcess(
            balancer.url,
            workdir / "outcomes.jsonl",
            rate=RATE,
            duration=60,
            put_share=0.5,
            prefix=f"canary{kind}",
            timeout=CLIENT_TIMEOUT,
        )
        time.sleep(2.0)
        if kind == "rolling":
            outcome = Outcome("IN_PROGRESS")
            start_new()
            balancer.healthy("green", timeout=15)
            balancer.weights(blue=0, green=100)
            outcome.first_traffic = outcome.mark("rolling: new task healthy, old task stopped")
            balancer.deregister("blue")
            time.sleep(STEPS.canary_bake + STEPS.deployment_bake)
            outcome.status = "COMPLETED"
        else:
            outcome = canary_deploy(balancer, start_new, old.stop, new.stop, STEPS, workdir)
        time.sleep(2.0)
        load.stop()
        requests = load.finish()
    result.timeline = sorted((at - load.started, what) for at, what in outcome.events)
    judge(result, kind, outcome, requests)
    result.seconds = time.monotonic() - began
    return result


def judge(result: Result, kind: str, outcome: Outcome, requests: list[Request]) -> None:
    """Numbers and expectations from the outcome and every recorded request."""
    failed = [r for r in requests if r.failed]
    served = Counter(r.served_by or "-" for r in requests)
    result.number("requests", f"{len(requests)} at {RATE:.0f}/s, 50 % PUT")
    result.number("answers", describe(requests))
    result.number("served by", ", ".join(f"{k}: {v}" for k, v in sorted(served.items())))
    result.number("deployment outcome", f"{outcome.status} {outcome.reason}".strip())
    share = len(failed) / len(requests) if requests else 0.0
    result.number("failed requests (5xx or no answer)", f"{len(failed)} ({share:.2%} of all)")
    result.number(
        "monthly error budget spent at 99.9 % (as if this rate ran all month)",
        f"{budget_share(len(failed), RATE):.4%}",
    )
    green = [r for r in requests if r.served_by == "green"]
    if kind == "good":
        result.expect("the deployment completed", outcome.status == "COMPLETED", outcome.status)
        result.expect("0 failed requests", not failed, describe(failed) if failed else "0")
    elif kind == "smoke":
        result.expect("rolled back by the smoke test", "smoke" in outcome.reason, outcome.reason)
        result.expect("the new revision got no production traffic", not green, str(len(green)))
        result.expect("0 failed requests", not failed, describe(failed) if failed else "0")
    elif kind == "bad":
        assert outcome.first_traffic is not None or outcome.status != "ROLLED_BACK"
        served_for = (
            (outcome.rolled_back or 0) - (outcome.first_traffic or 0)
            if outcome.rolled_back
            else float("nan")
        )
        result.number("bad revision served production traffic for", f"{served_for:.1f} s")
        result.number(
            "share of requests the bad revision answered", f"{len(green) / len(requests):.1%}"
        )
        result.expect(
            "rolled back automatically by the alarm",
            outcome.status == "ROLLED_BACK" and "alarm" in outcome.reason,
            outcome.reason or outcome.status,
        )
        result.expect(
            f"rolled back during the canary bake ({STEPS.canary_bake:.0f} s)",
            "canary" in outcome.reason and served_for <= STEPS.canary_bake,
            f"{served_for:.1f} s",
        )
        result.expect(
            f"at most {STEPS.canary_percent * 2} % of requests reached the bad revision",
            len(green) <= len(requests) * STEPS.canary_percent * 2 / 100,
            f"{len(green)}/{len(requests)}",
        )
    else:
        after = [
            r for r in requests if outcome.first_traffic and r.due >= outcome.first_traffic + 1
        ]
        failing = [r for r in after if r.failed]
        ratio = len(failing) / len(after) if after else 0.0
        result.number(
            "error ratio once deployed", f"{ratio:.1%} (burn rate {ratio / (1 - SLO):.0f}x)"
        )
        hours = ratio / (1 - SLO) * 3600 / MONTH_SECONDS
        result.number("monthly budget spent per hour until a person rolls back", f"{hours:.1%}")
        result.expect(
            "the bad release reaches all traffic",
            bool(after) and all(r.served_by == "green" for r in after if r.status is not None),
            f"{sum(r.served_by == 'green' for r in after)}/{len(after)} by green",
        )
        result.expect(
            f"and fails above the alarm threshold ({ERROR_RATIO_THRESHOLD:.0%})",
            ratio > ERROR_RATIO_THRESHOLD,
            f"{ratio:.1%}",
        )


CANARY_SCENARIOS = {
    "canary-bad": lambda work, profile: canary(work, profile, "bad"),
    "canary-good": lambda work, profile: canary(work, profile, "good"),
    "canary-smoke-fails": lambda work, profile: canary(work, profile, "smoke"),
    "rolling-bad": lambda work, profile: canary(work, profile, "rolling"),
}
