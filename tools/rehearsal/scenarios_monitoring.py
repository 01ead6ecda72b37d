"""Monitoring scenarios: the production alerts, proven on a storage outage, a clean rolling
deploy and a silenced collector, through the real collector, evaluator and alert manager."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.rehearsal.fleet import Fleet
from tools.rehearsal.load import Outcome
from tools.rehearsal.measure import Result, Timeline, describe, succeeded
from tools.rehearsal.monitoring import (
    ALERTMANAGER,
    COLLECTOR,
    RULES,
    WINDOW_SCALE,
    Monitoring,
    WebhookRecorder,
    duration_ms,
)
from tools.rehearsal.scenarios import (
    STORAGE_TIMEOUT,
    TABLE,
    Profile,
    cluster,
    dynalite,
    start_load,
)

# What a storage outage must page with: the users' symptom and its cause.
OUTAGE_ALERTS = ("HelloAvailabilityFastBurn", "HelloStorageErrors")
MISSING_ALERT = "HelloMetricsMissing"
# Alerts that would send the on-call to the wrong place during a storage outage.
WRONG_FOR_OUTAGE = ("HelloMetricsMissing", "HelloScrapeFailing", "HelloAuthFailureSpike")
# Production allowance on top of the pipeline's own delays: evaluations missed by a busy machine.
SLACK = "2m"
# What the monitoring promises an operator, in production time, from the fault's start: each is
# the alert's `for` (or its absence window) plus a scrape, the send, two evaluations and the
# group wait as rules.yml, collector.yml and alertmanager.yml have them today, plus slack. Fixed
# here rather than read from those files, so a rule made slower than its promise fails.
PROMISES = {
    "HelloAvailabilityFastBurn": "6m",
    "HelloStorageErrors": "10m",
    "HelloMetricsMissing": "15m",
}
# Both outage alerts read 5-minute windows: clear within that, the group interval and slack.
RESOLVED_WITHIN = "15m"
# The load generator's run is cut short with stop() once a scenario has seen what it waits for.
LONGEST_LOAD = 600.0


def _rules() -> dict[str, dict[str, Any]]:
    """Each alert's rule, with its group's interval."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {
        rule["alert"]: {**rule, "interval": group["interval"]}
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    }


def pipeline_delay_ms() -> int:
    """Production milliseconds from a sample's scrape to a notification, besides `for`.

    A scrape interval until the change is scraped, the remote-write batch deadline, two
    evaluation intervals (the one that sees it and the one that sends), the alert manager's
    group wait, and the slack.
    """
    collector = yaml.safe_load(COLLECTOR.read_text())
    route = yaml.safe_load(yaml.safe_load(ALERTMANAGER.read_text())["alertmanager_config"])
    interval = max(duration_ms(g["interval"]) for g in yaml.safe_load(RULES.read_text())["groups"])
    return (
        duration_ms(collector["global"]["scrape_interval"])
        + duration_ms(collector["remote_write"][0]["queue_config"]["batch_send_deadline"])
        + 2 * interval
        + duration_ms(route["route"]["group_wait"])
        + duration_ms(SLACK)
    )


def promised(alertname: str) -> float:
    """Rehearsal seconds within which a clear-cut fault must be notified for an alert."""
    return duration_ms(PROMISES[alertname]) * float(WINDOW_SCALE) / 1000


def production(seconds: float) -> str:
    """Rehearsal seconds as the production time they stand for."""
    minutes = seconds / float(WINDOW_SCALE) / 60
    return f"{seconds:.1f} s (production: {minutes:.1f} min)"


@contextlib.contextmanager
def watched_cluster(
    workdir: Path, env: dict[str, str], monitoring: Monitoring, size: int = 2
) -> Iterator[Fleet]:
    """`size` instances behind the balancer, each with its collector, the pipeline proven live."""
    with cluster(workdir, env, size) as fleet:
        for instance in fleet.instances:
            monitoring.watch(instance.name, instance.port)
        wait_live(monitoring, [i.name for i in fleet.instances])
        monitoring.evaluate()
        yield fleet


def wait_live(monitoring: Monitoring, tasks: list[str], timeout: float = 30) -> None:
    """Wait until the stand-in workspace holds a successful scrape from every one of the tasks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = {r["metric"]["task"] for r in monitoring.query('up{job="hello-birthday"} == 1')}
        if set(tasks) <= seen:
            return
        time.sleep(0.2)
    raise RuntimeError(f"no scrape from {set(tasks) - seen} reached the stand-in workspace")


def _story_suffix(monitoring: Monitoring) -> str:
    return (
        f" Each instance has its collector (Prometheus {_version()} in agent mode with "
        "deploy/prometheus/collector.yml), remote-writing to a second Prometheus standing in for "
        "the managed workspace, which evaluates deploy/prometheus/rules.yml and notifies "
        "Alertmanager 0.25 configured by deploy/prometheus/alertmanager.yml, whose receiver is a "
        f"webhook the rehearsal records. Every duration is scaled by {WINDOW_SCALE} (one "
        f"production hour is {monitoring.scaled_seconds('1h'):.0f} s here)."
    )


def _version() -> str:
    first = subprocess.run(["prometheus", "--version"], capture_output=True, text=True).stdout
    return first.split()[2] if first else "?"


@dataclass
class OutageRun:
    """What the storage outage under watch did and what the alert manager sent."""

    story_suffix: str
    outcomes: list[Outcome]
    timeline: Timeline
    fault_start: float
    fault_end: float
    # When each outage alert was notified firing, then resolved (None: never, in its bound).
    fired: dict[str, float | None]
    resolved: dict[str, float | None]
    webhook: WebhookRecorder


def run_alert_storage_outage(workdir: Path, profile: Profile) -> OutageRun:
    """dynalite stopped under load until both outage alerts fire, then started again."""
    with contextlib.ExitStack() as stack:
        monitoring = stack.enter_context(Monitoring(workdir))
        db = stack.enter_context(dynalite(workdir))
        env = db.environment(TABLE) | {"HELLO_STORAGE_TIMEOUT": str(STORAGE_TIMEOUT)}
        fleet = stack.enter_context(watched_cluster(workdir, env, monitoring))
        load, timeline = start_load(
            fleet.balancer.url,
            workdir,
            rate=profile.fault_rate,
            duration=LONGEST_LOAD,
            put_share=0.5,
            prefix="alertoutage",
        )
        stack.callback(load.stop)
        # Healthy traffic across the shortest window first, so the burn is judged on a mix.
        time.sleep(monitoring.scaled_seconds("5m"))
        db.stop()
        fault_start = timeline.mark("dynalite stopped")
        fired = {
            name: _notified(monitoring, timeline, name, fault_start, 2 * promised(name))
            for name in OUTAGE_ALERTS
        }
        db.start()
        fault_end = timeline.mark("dynalite answering again")
        resolved = {
            name: _notified(monitoring, timeline, name, fault_end, 2 * _resolve_bound(), "resolved")
            for name in OUTAGE_ALERTS
        }
        load.stop()
        outcomes = load.finish()
    return OutageRun(
        _story_suffix(monitoring),
        outcomes,
        timeline,
        fault_start,
        fault_end,
        fired,
        resolved,
        monitoring.webhook,
    )


def _resolve_bound() -> float:
    return duration_ms(RESOLVED_WITHIN) * float(WINDOW_SCALE) / 1000


def judge_alert_storage_outage(run: OutageRun, profile: Profile) -> Result:
    """The symptom and the cause page in time, nothing else does, and both clear."""
    result = Result(
        "Alert on a storage outage (dynalite stopped)",
        f"Two instances on dynalite; {profile.fault_rate:.0f} req/s, 50% PUT. dynalite is "
        "stopped until the alert manager has notified both "
        f"{' and '.join(OUTAGE_ALERTS)}, then started again; the rehearsal waits for both to "
        "be notified resolved." + run.story_suffix,
    )
    fault_start, fault_end, webhook = run.fault_start, run.fault_end, run.webhook
    result.timeline = run.timeline.relative()
    during = [o for o in run.outcomes if fault_start <= o.due < fault_end]
    result.number("answers while storage was down", describe(during))
    result.number(
        "alerts notified firing during the outage",
        ", ".join(sorted(webhook.alertnames(fault_start, fault_end))) or "none",
    )
    result.number("notifications received", len(webhook.notifications))
    before = webhook.alertnames(0, fault_start)
    result.expect(
        "no notification before the outage", not before, ", ".join(sorted(before)) or "none"
    )
    for name in OUTAGE_ALERTS:
        bound = promised(name)
        at = run.fired[name]
        result.expect(
            f"{name} notified within {production(bound)} of the outage's start "
            f"(its `for` is {_rules()[name].get('for', '0s')})",
            at is not None and at - fault_start <= bound,
            "never" if at is None else f"after {production(at - fault_start)}",
        )
    wrong = webhook.alertnames(fault_start, float("inf")) & set(WRONG_FOR_OUTAGE)
    result.expect(
        "no alert that points elsewhere (" + ", ".join(WRONG_FOR_OUTAGE) + ")",
        not wrong,
        ", ".join(sorted(wrong)) or "none",
    )
    resolve_bound = _resolve_bound()
    for name in OUTAGE_ALERTS:
        at = run.resolved[name]
        result.expect(
            f"{name} notified resolved within {production(resolve_bound)} of storage being back",
            at is not None and at - fault_end <= resolve_bound,
            "never" if at is None else f"after {production(at - fault_end)}",
        )
    return result


def alert_storage_outage(workdir: Path, profile: Profile) -> Result:
    """Run the storage outage under watch, then judge what was notified."""
    began = time.monotonic()
    result = judge_alert_storage_outage(run_alert_storage_outage(workdir, profile), profile)
    result.seconds = time.monotonic() - began
    return result


def _notified(
    monitoring: Monitoring,
    timeline: Timeline,
    name: str,
    since: float,
    within: float,
    status: str = "firing",
) -> float | None:
    """Wait until `since + within` for the alert's notification in that state; note it."""
    at = monitoring.webhook.wait_for(name, since, max(since + within - time.monotonic(), 0), status)
    if at is not None:
        timeline.events.append((at, f"notified: {name} {status}"))
    return at


@dataclass
class CleanRollRun:
    """What a rolling deploy under watch did, and every alert state the evaluator held."""

    story_suffix: str
    outcomes: list[Outcome]
    timeline: Timeline
    roll_start: float
    roll_end: float
    watch_after: float
    tasks: list[str]
    seen_tasks: set[str]
    states: list[dict[str, Any]]
    ratio_samples: list[dict[str, Any]]
    notified: set[str]


def run_alert_clean_roll(workdir: Path, profile: Profile) -> CleanRollRun:
    """Replace each instance in turn under load, its collector with it, then keep watching."""
    env = {"HELLO_SQLITE_PATH": str(workdir / "hello.sqlite3")}
    with contextlib.ExitStack() as stack:
        monitoring = stack.enter_context(Monitoring(workdir))
        fleet = stack.enter_context(watched_cluster(workdir, env, monitoring))
        load, timeline = start_load(
            fleet.balancer.url,
            workdir,
            rate=profile.rate,
            duration=LONGEST_LOAD,
            put_share=0.5,
            prefix="alertroll",
        )
        stack.callback(load.stop)
        time.sleep(monitoring.scaled_seconds("5m"))
        roll_start = timeline.mark("roll starts")
        tasks = [i.name for i in fleet.instances]
        for old in list(fleet.instances):
            new = fleet.launch()
            monitoring.watch(new.name, new.port)
            tasks.append(new.name)
            timeline.mark(f"{new.name} UP, its collector started")
            code = fleet.terminate(old)
            monitoring.unwatch(old.name)
            timeline.mark(f"{old.name} exited with {code}, its collector stopped")
        roll_end = timeline.mark("roll done")
        # Anything the roll caused is pending by then: a rule goes pending at the first
        # evaluation that sees it.
        watch_after = pipeline_delay_ms() * float(WINDOW_SCALE) / 1000
        time.sleep(watch_after)
        load.stop()
        outcomes = load.finish()
        run = time.monotonic() - load.started
        # Every alert state the evaluator held during the run, pending included.
        states = monitoring.query(
            f"count by (alertname, alertstate) (count_over_time(ALERTS[{run:.0f}s]))"
        )
        seen_tasks = {
            r["metric"]["task"]
            for r in monitoring.query(f'max_over_time(up{{job="hello-birthday"}}[{run:.0f}s]) == 1')
        }
        ratio_samples = monitoring.query(
            f"count_over_time(slo:hello_http_requests:error_ratio_rate5m[{run:.0f}s])"
        )
        notified = monitoring.webhook.alertnames()
    return CleanRollRun(
        _story_suffix(monitoring),
        outcomes,
        timeline,
        roll_start,
        roll_end,
        watch_after,
        tasks,
        seen_tasks,
        states,
        ratio_samples,
        notified,
    )


def judge_alert_clean_roll(run: CleanRollRun, profile: Profile) -> Result:
    """Every task watched, the roll clean, and no alert, not even pending."""
    result = Result(
        "No alert on a clean rolling deploy",
        f"Two instances on SQLite; {profile.rate:.0f} req/s, 50% PUT. Each instance is "
        "replaced in turn as in the rolling-deployment scenario; the new task's collector "
        "starts with it, the old task's stops once the old instance has exited, as ECS stops "
        "a task's containers. The rehearsal then waits as long as a sample takes to reach an "
        "evaluation and the alert manager, so anything the roll caused would show as a "
        "pending alert at least." + run.story_suffix,
    )
    result.timeline = run.timeline.relative()
    tasks, seen_tasks, states = run.tasks, run.seen_tasks, run.states
    failed = [o for o in run.outcomes if not succeeded(o)]
    result.number("answers", describe(run.outcomes))
    result.number("roll took", f"{run.roll_end - run.roll_start:.1f} s")
    result.number("watched after the roll", production(run.watch_after))
    result.number(
        "availability SLI evaluations in the workspace during the run",
        run.ratio_samples[0]["value"][1] if run.ratio_samples else "0",
    )
    result.expect(
        "the pipeline watched every task, old and new (a successful scrape from each reached "
        "the workspace)",
        set(tasks) <= seen_tasks,
        f"{len(seen_tasks & set(tasks))}/{len(tasks)}: {', '.join(sorted(seen_tasks))}",
    )
    result.expect(
        "the roll itself was clean: every answer 204 / 200", not failed, describe(failed) or "0"
    )
    result.expect(
        "no alert was even pending during the run",
        not states,
        ", ".join(f"{s['metric']['alertname']} {s['metric']['alertstate']}" for s in states)
        or "none",
    )
    result.expect("no notification", not run.notified, ", ".join(sorted(run.notified)) or "none")
    return result


def alert_clean_roll(workdir: Path, profile: Profile) -> Result:
    """Run a rolling deploy under watch, then judge what the alerting made of it."""
    began = time.monotonic()
    result = judge_alert_clean_roll(run_alert_clean_roll(workdir, profile), profile)
    result.seconds = time.monotonic() - began
    return result


@dataclass
class MissingRun:
    """What the service and the alert manager did once every collector was killed."""

    story_suffix: str
    outcomes: list[Outcome]
    timeline: Timeline
    silenced: float
    at: float | None
    notified: set[str]


def run_alert_metrics_missing(workdir: Path, profile: Profile) -> MissingRun:
    """SIGKILL every collector under load and wait for the absence alert."""
    env = {"HELLO_SQLITE_PATH": str(workdir / "hello.sqlite3")}
    with contextlib.ExitStack() as stack:
        monitoring = stack.enter_context(Monitoring(workdir))
        fleet = stack.enter_context(watched_cluster(workdir, env, monitoring))
        load, timeline = start_load(
            fleet.balancer.url,
            workdir,
            rate=profile.fault_rate,
            duration=LONGEST_LOAD,
            put_share=0.5,
            prefix="alertmissing",
        )
        stack.callback(load.stop)
        time.sleep(monitoring.scaled_seconds("5m"))
        silenced = timeline.mark("every collector SIGKILLed")
        for collector in monitoring.collectors.values():
            collector.kill()
        at = _notified(monitoring, timeline, MISSING_ALERT, silenced, 2 * promised(MISSING_ALERT))
        load.stop()
        outcomes = load.finish()
        notified = monitoring.webhook.alertnames()
    return MissingRun(_story_suffix(monitoring), outcomes, timeline, silenced, at, notified)


def judge_alert_metrics_missing(run: MissingRun, profile: Profile) -> Result:
    """The absence alert pages in time, alone, and the service never noticed."""
    result = Result(
        "Alert on silenced collectors (metrics missing)",
        f"Two instances on SQLite; {profile.fault_rate:.0f} req/s, 50% PUT. Both collectors "
        "are SIGKILLed, as an OOM kill would end them; the instances are not touched."
        + run.story_suffix,
    )
    result.timeline = run.timeline.relative()
    window = _rules()[MISSING_ALERT]["expr"].split("[", 1)[1].split("]", 1)[0]
    bound = promised(MISSING_ALERT)
    at, silenced = run.at, run.silenced
    after = [o for o in run.outcomes if o.due >= silenced]
    result.number("answers after the collectors died", describe(after))
    result.expect(
        f"{MISSING_ALERT} notified within {production(bound)} of the collectors dying "
        f"(its absence window is {window})",
        at is not None and at - silenced <= bound,
        "never" if at is None else f"after {production(at - silenced)}",
    )
    result.expect(
        "no other alert notified",
        run.notified <= {MISSING_ALERT},
        ", ".join(sorted(run.notified)) or "none",
    )
    result.expect(
        "the service kept answering without its collectors: every answer 204 / 200",
        bool(after) and all(succeeded(o) for o in after),
        describe(after),
    )
    return result


def alert_metrics_missing(workdir: Path, profile: Profile) -> Result:
    """Run the silenced collectors, then judge what was notified."""
    began = time.monotonic()
    result = judge_alert_metrics_missing(run_alert_metrics_missing(workdir, profile), profile)
    result.seconds = time.monotonic() - began
    return result


MONITORING_SCENARIOS = {
    "alert-storage-outage": alert_storage_outage,
    "alert-clean-roll": alert_clean_roll,
    "alert-metrics-missing": alert_metrics_missing,
}
