"""docs/benchmarks.md: the measured part generated from one run, the analysis from analysis.md."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from tools.bench import charts
from tools.bench.breakdown import ACCESS_LOG, REQUEST_METRICS
from tools.bench.harness import ROOT

if TYPE_CHECKING:
    from tools.bench.__main__ import Footprint, Results, Run
    from tools.bench.harness import Load

ANALYSIS = ROOT / "tools" / "bench" / "analysis.md"
MB = 1_000_000
# us-east-1 list prices, as in docs/cost.md: a Fargate ARM task of 1 vCPU and 2 GB per hour,
# and on-demand DynamoDB per million request units.
TASK_HOUR = 0.03238 + 2 * 0.00356
READ_UNIT = 0.125
WRITE_UNIT = 0.625

TARGETS = {
    "get_rate": 10_000,
    "get_p99_ms": 10.0,
    "flask_ratio": 0.85,
    "p99_ratio": 1.2,
    "put_rate": 3_000,
    "worker_mb": 60,
    "ready_s": 2.0,
}


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpu": cpu,
        "cores": str(len(os.sched_getaffinity(0))),
        "memory": f"{int(memory) / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "virtualisation": _hypervisor(),
    }


def _tool(*command: str) -> str:
    path = shutil.which(command[0])
    if path is None:
        return "not installed"
    done = subprocess.run(
        [path, *command[1:]], capture_output=True, text=True, check=False, timeout=10
    )
    return done.stdout + done.stderr


def _hypervisor() -> str:
    for line in _tool("lscpu").splitlines():
        if line.startswith("Hypervisor vendor:"):
            return line.split(":", 1)[1].strip() + " guest"
    return "none reported by lscpu"


def versions() -> dict[str, str]:
    """Versions of everything on the request path and of the load generator."""
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for package in ("granian", "flask", "werkzeug", "prometheus-client", "boto3"):
        found[package] = metadata.version(package)
    found["wrk"] = _tool("wrk", "-v").split("[", 1)[0].removeprefix("wrk").strip()
    found["node"] = _tool("node", "--version").strip()
    dynalite = json.loads((ROOT / "node_modules" / "dynalite" / "package.json").read_text())
    found["dynalite"] = dynalite["version"]
    found["gunicorn"] = "23.0.0 (uv run --with, not a project dependency)"
    found["code"] = _code_state()
    return found


def _code_state() -> str:
    """The commit measured, and any uncommitted change to the service it ran with."""
    commit = _tool("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD").strip()
    changed = _tool("git", "-C", str(ROOT), "status", "--porcelain", "--", "src").splitlines()
    if not changed:
        return f"commit {commit}"
    return f"commit {commit} with uncommitted changes to " + " ".join(line[3:] for line in changed)


def _ours(results: Results) -> str:
    return f"ours-sqlite-{results.settings['threads']}t"


def _flask(results: Results) -> str:
    return f"flask-floor-{results.settings['threads']}t"


def _runs(results: Results, target: str, method: str = "GET") -> dict[int, Run]:
    return {r.connections: r for r in results.runs if r.target == target and r.method == method}


def _footprint(results: Results, target: str) -> Footprint | None:
    return next((f for f in results.footprints if f.target == target), None)


def _plain_verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def _peak_mb(results: Results, target: str) -> float:
    """The highest VmHWM of any worker of any start of this configuration, in MB."""
    peaks = [h for f in results.footprints if f.target == target for h, _ in f.workers_kib]
    return max(peaks, default=0) * 1024 / MB


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _targets(results: Results) -> list[str]:
    rows = ["| target | wanted | measured | |", "| --- | --- | --- | --- |"]
    ours = _runs(results, _ours(results))
    first = min(ours) if ours else None
    if first is not None:
        run = ours[first]
        rows.append(
            f"| GET on SQLite, {first} connections (issue 3) | >= {TARGETS['get_rate']:,} req/s | "
            f"{run.load.rate:,.0f} req/s | {_verdict(run.load.rate >= TARGETS['get_rate'])} |"
        )
        rows.append(
            f"| GET p99, {first} connections (issue 3) | <= {TARGETS['get_p99_ms']:g} ms | "
            f"{run.load.p99_ms:.2f} ms | {_verdict(run.load.p99_ms <= TARGETS['get_p99_ms'])} |"
        )
    flask = _runs(results, _flask(results))
    for connections in sorted(set(ours) & set(flask)):
        ratio = ours[connections].load.rate / flask[connections].load.rate
        rows.append(
            f"| GET ours / Flask floor, {connections} connections (issue 17) | "
            f">= {TARGETS['flask_ratio']} | {ratio:.2f} | "
            f"{_verdict(ratio >= TARGETS['flask_ratio'])} |"
        )
    for connections in sorted(set(ours) & set(flask)):
        mine, floor = ours[connections].load, flask[connections].load
        tail = mine.p99_ms / floor.p99_ms
        rows.append(
            f"| GET p99 ours / Flask floor, {connections} connections (issue 17) | "
            f"<= {TARGETS['p99_ratio']}x | {tail:.2f}x ({mine.p99_ms:.1f} / {floor.p99_ms:.1f} ms; "
            f"p99.9 {_ms(mine.p999_ms)} / {_ms(floor.p999_ms)} ms) | "
            f"{_verdict(tail <= TARGETS['p99_ratio'])} |"
        )
    puts = _runs(results, _ours(results), "PUT")
    if puts:
        best = max(puts.values(), key=lambda r: r.load.rate)
        rows.append(
            f"| durable PUT (best of {', '.join(map(str, sorted(puts)))} connections; "
            "issues 3, 17) | "
            f">= {TARGETS['put_rate']:,} /s | {best.load.rate:,.0f} /s at {best.connections} | "
            f"{_verdict(best.load.rate >= TARGETS['put_rate'])} |"
        )
    footprint = _footprint(results, _ours(results))
    if footprint is not None:
        peak = _peak_mb(results, _ours(results))
        rows.append(
            f"| peak RSS per worker (issues 3, 17) | <= {TARGETS['worker_mb']} MB | "
            f"{peak:.1f} MB | "
            f"{_verdict(peak <= TARGETS['worker_mb'])} |"
        )
        rows.append(
            f"| start to 200 on /readyz (issues 3, 17) | <= {TARGETS['ready_s']:g} s | "
            f"{footprint.ready_seconds:.2f} s | "
            f"{_verdict(footprint.ready_seconds <= TARGETS['ready_s'])} |"
        )
    return rows


def _run_table(results: Results) -> list[str]:
    rows = [
        "| server | method | conns | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors "
        "| server CPU µs/req | others' CPU (cores) | load avg |",
        "| --- | --- |" + " ---: |" * 11,
    ]
    for run in results.runs:
        load = run.load
        cpu_us = run.server_cpu_seconds / load.requests * 1e6 if load.requests else 0.0
        rows.append(
            f"| {run.target} | {run.method} | {run.connections} | {load.rate:,.0f} | "
            f"{load.p50_ms:.2f} | {load.p90_ms:.2f} | {load.p99_ms:.2f} | {_ms(load.p999_ms)} | "
            f"{load.max_ms:.1f} | "
            f"{_errors(load)} | {cpu_us:.0f} | {run.other_cpu_seconds / load.seconds:.2f} | "
            f"{run.load_average:.2f} |"
        )
    return rows


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def _errors(load: Load) -> str:
    parts = [f"{count:,} {kind}" for kind, count in load.errors.items() if count]
    return ", ".join(parts) if parts else "0"


def _ratio_table(results: Results) -> list[str]:
    rows = ["| threads | conns | ours | Flask floor | bare WSGI | ours/Flask | ours/WSGI |"]
    rows.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for threads in sorted({int(str(results.settings["threads"])), 1}, reverse=True):
        ours = _runs(results, f"ours-sqlite-{threads}t")
        flask = _runs(results, f"flask-floor-{threads}t")
        wsgi = _runs(results, f"wsgi-ceiling-{threads}t")
        for connections in sorted(set(ours) & set(flask) & set(wsgi)):
            o, f, w = (x[connections].load.rate for x in (ours, flask, wsgi))
            rows.append(
                f"| {threads} | {connections} | {o:,.0f} | {f:,.0f} | {w:,.0f} | "
                f"{o / f:.2f} | {o / w:.2f} |"
            )
    return rows


def _server_table(results: Results) -> list[str]:
    rows = ["| server for our app | conns | req/s | p50 ms | p99 ms | errors |"]
    rows.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    threads = results.settings["threads"]
    choices = [
        *(
            (f"ours-sqlite-{count}t", f"granian, {count} blocking thread(s) per worker")
            for count in sorted({int(str(threads)), 4, 1}, reverse=True)
        ),
        ("ours-gunicorn-sync", "gunicorn sync"),
        (f"ours-gunicorn-gthread-{threads}t", f"gunicorn gthread, {threads} threads per worker"),
    ]
    for target, label in choices:
        for connections, run in sorted(_runs(results, target).items()):
            rows.append(
                f"| {label} | {connections} | {run.load.rate:,.0f} | {run.load.p50_ms:.2f} | "
                f"{run.load.p99_ms:.2f} | {run.load.failed} |"
            )
    return rows


def _footprint_table(results: Results) -> list[str]:
    rows = ["| server | start to ready (s) | per worker: peak RSS / RSS at the end (MB) |"]
    rows.append("| --- | ---: | --- |")
    for footprint in results.footprints:
        workers = ", ".join(
            f"{hwm * 1024 / MB:.1f} / {rss * 1024 / MB:.1f}" for hwm, rss in footprint.workers_kib
        )
        rows.append(f"| {footprint.target} | {footprint.ready_seconds:.2f} | {workers} |")
    return rows


def _breakdown_table(results: Results) -> list[str]:
    steps = results.breakdown_us
    if not steps:
        return []
    rows = ["| app, called in-process by the bench (no HTTP server) | CPU µs per GET | step |"]
    rows.append("| --- | ---: | ---: |")
    previous: float | None = None
    for name, micros in steps.items():
        step = "" if previous is None or not name.startswith("+") else f"{micros - previous:+.1f}"
        rows.append(f"| {name} | {micros:.1f} | {step} |")
        previous = micros
    return rows


_SHORT_STEPS = {
    "bare WSGI callable": "bare WSGI",
    "least Flask app": "Flask floor",
    "ours: no storage decorators, no metrics, no log, no request id": "ours, bare",
    "+ storage latency histogram": "+ storage histogram",
    "+ circuit breaker": "+ breaker",
    REQUEST_METRICS: "+ request metrics, id",
    ACCESS_LOG: "+ access log",
}


def _pictures(results: Results) -> list[str]:
    threads = int(str(results.settings["threads"]))
    servers = [
        ("ours", _runs(results, _ours(results))),
        ("Flask floor", _runs(results, _flask(results))),
        ("bare WSGI", _runs(results, f"wsgi-ceiling-{threads}t")),
    ]
    lines: list[str] = []
    for connections in sorted(servers[0][1]):
        bars = [(who, runs[connections].load.rate) for who, runs in servers if connections in runs]
        lines += [*charts.bar_chart(f"GET req/s, {connections} connections", "req/s", bars), ""]
    steps = [(_SHORT_STEPS.get(name, name), us) for name, us in results.breakdown_us.items()]
    lines += [*charts.bar_chart("CPU µs per GET, in-process, extras added in turn", "µs", steps)]
    lines.append("")
    ours, flask = servers[0][1], servers[1][1]
    for connections in sorted(set(ours) & set(flask)):
        mine, floor = ours[connections].load, flask[connections].load
        bars = [
            (f"{who} {name}", value)
            for name, pair in (
                ("p50", (mine.p50_ms, floor.p50_ms)),
                ("p90", (mine.p90_ms, floor.p90_ms)),
                ("p99", (mine.p99_ms, floor.p99_ms)),
                ("p99.9", (mine.p999_ms, floor.p999_ms)),
            )
            for who, value in zip(("ours", "floor"), pair, strict=True)
        ]
        title = f"GET latency ms, closed loop (wrk), {connections} connections"
        lines += [*charts.bar_chart(title, "ms", bars), ""]
    return lines


_PERCENTILES = (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p999", "p99.9"))


def _who(target: str) -> str:
    return "ours" if target.startswith("ours") else "floor"


def _open_loop(results: Results) -> list[str]:
    if not results.openloop:
        return ["(not measured in this run)"]
    first = results.openloop[0]
    rates = sorted({measured["rate"] for measured in results.openloop})
    lines = [
        "Each server at the same fixed rates, "
        + " and ".join(f"{rate:,.0f}" for rate in rates)
        + f" GET/s, over {first['connections']} connections for {first['seconds']:g} s: half "
        "and 70 % of what ours served closed-loop at the first connection count. wrk is "
        "closed-loop: each connection sends its next request only when the last answer is in, so "
        "while the server stalls, no requests are sent and none are measured waiting "
        "(coordinated omission); its percentiles are of service times and hide queueing. Here "
        "every request is due at its time on the schedule whatever happened before, and "
        "*corrected* latency runs from that time to the end of the answer; *service* is from the "
        "actual send, what a closed-loop tool would report. *send lag* is how late requests went "
        "out: large when the server fell behind (requests queue for a connection), or when the "
        "generator, which shares the two cores, did.",
        "",
        "| server | offered req/s | achieved req/s | corrected p50 / p90 / p99 / p99.9 / max ms "
        "| service p99 / p99.9 ms | send lag p99 ms | errors |",
        "| --- | ---: | ---: | --- | --- | ---: | --- |",
    ]
    for measured in results.openloop:
        corrected, service = measured["corrected_ms"], measured["service_ms"]
        spread = " / ".join(f"{corrected[key]:.2f}" for key in ("p50", "p90", "p99", "p999", "max"))
        errors = ", ".join(f"{n:,} {kind}" for kind, n in measured["errors"].items() if n) or "0"
        lines.append(
            f"| {measured['target']} | {measured['rate']:,.0f} | "
            f"{measured['achieved_rate']:,.0f} | {spread} | "
            f"{service['p99']:.2f} / {service['p999']:.2f} | "
            f"{measured['send_lag_ms']['p99']:.2f} | {errors} |"
        )
    drawn = []
    for rate in rates:
        at_rate = [m for m in results.openloop if m["rate"] == rate]
        bars = [
            (
                f"{'ours' if m['target'].startswith('ours') else 'floor'} {label}",
                m["corrected_ms"][key],
            )
            for key, label in _PERCENTILES
            for m in at_rate
        ]
        title = f"GET latency ms, open loop at {rate:,.0f}/s, corrected"
        drawn += ["", *charts.bar_chart(title, "ms", bars)]
    return [*lines, *drawn]


def _fsync_lines(results: Results) -> list[str]:
    if not results.fsync_ms:
        return []
    samples = sorted(results.fsync_ms)
    median = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    return [
        f"4 KiB write + fdatasync on the database's disk, {len(samples)} times: median "
        f"{median:.3f} ms, p99 {p99:.3f} ms, max {samples[-1]:.3f} ms — at most "
        f"~{1000 / median:,.0f} synced commits/s from one writer at a time.",
        "",
        "One SQLite connection upserting on the service's schema (WAL), one transaction each: "
        + ", ".join(
            f"synchronous={mode} {rate:,.0f} commits/s"
            for mode, rate in results.sqlite_commits_per_s.items()
        )
        + ". SQLite has one writer at a time, so with one row per commit this would be the PUT"
        " ceiling; the service's group commit puts the saves waiting in a worker in one commit.",
    ]


def _cpu_us(run: Run | None) -> str:
    if run is None or not run.load.requests:
        return "n/a"
    return f"{run.server_cpu_seconds / run.load.requests * 1e6:,.0f}"


def _per_request(run: Run | None) -> float:
    if run is None or not run.load.requests:
        return 0.0
    return run.server_cpu_seconds / run.load.requests


def _first(results: Results, target: str, method: str = "GET") -> Run | None:
    runs = _runs(results, target, method)
    return runs[min(runs)] if runs else None


def _comparison(results: Results, targets: list[tuple[str, str]]) -> str:
    """One line per configuration: req/s, p99 and CPU per request at each connection count."""
    lines = []
    for target, label in targets:
        runs = _runs(results, target)
        if not runs:
            continue
        cells = "; ".join(
            f"{c} connections {r.load.rate:,.0f} req/s, p99 {r.load.p99_ms:.0f} ms, "
            f"{_cpu_us(r)} µs CPU/req"
            for c, r in sorted(runs.items())
        )
        lines.append(f"- {label}: {cells}")
    return "\n".join(lines) if lines else "(not measured in this run)"


def _step(results: Results, name: str) -> str:
    names = list(results.breakdown_us)
    if name not in names or names.index(name) == 0:
        return "n/a"
    before = results.breakdown_us[names[names.index(name) - 1]]
    return f"{results.breakdown_us[name] - before:.0f}"


def _times(price_per_million: float, cpu_seconds: float) -> str:
    """How many times the compute for one request a DynamoDB request unit costs."""
    if not cpu_seconds:
        return "n/a"
    return f"{price_per_million / (cpu_seconds * 1e6 / 3600 * TASK_HOUR):.0f}"


def _ratio_met(results: Results) -> bool:
    ours, flask = _runs(results, _ours(results)), _runs(results, _flask(results))
    both = set(ours) & set(flask)
    return bool(both) and all(
        ours[c].load.rate / flask[c].load.rate >= TARGETS["flask_ratio"] for c in both
    )


def _ratios(results: Results) -> dict[str, str]:
    """Throughput and p99 of ours over the floor's at the first and the last connection count."""
    ours, flask = _runs(results, _ours(results)), _runs(results, _flask(results))
    both = sorted(set(ours) & set(flask))
    if not both:
        return {"RATIO64": "n/a", "P99X32": "n/a", "P99X64": "n/a"}
    first, last = ours[both[0]].load, ours[both[-1]].load
    floor_first, floor_last = flask[both[0]].load, flask[both[-1]].load
    return {
        "RATIO64": f"{last.rate / floor_last.rate:.2f}",
        "P99X32": f"{first.p99_ms / floor_first.p99_ms:.2f}x",
        "P99X64": f"{last.p99_ms / floor_last.p99_ms:.2f}x",
    }


def _fields(results: Results) -> dict[str, str]:
    """The numbers the hand-written analysis quotes, taken from this run."""
    threads = int(str(results.settings["threads"]))
    ours = _first(results, _ours(results))
    flask = _first(results, _flask(results))
    wsgi = _first(results, f"wsgi-ceiling-{threads}t")
    put_runs = _runs(results, _ours(results), "PUT")
    best_put = max(put_runs.values(), key=lambda r: r.load.rate) if put_runs else None
    steps = list(results.breakdown_us.values())
    footprint = _footprint(results, _ours(results))
    dynamo = _footprint(results, f"ours-dynamodb-{threads}t")
    dynamo_run = _first(results, f"ours-dynamodb-{threads}t")

    counts = sorted({threads, 4, 1}, reverse=True)
    full = results.sqlite_commits_per_s.get("FULL", 0)
    cores = float(results.machine.get("cores", "2"))
    return {
        "RUN": results.started.replace("T", " ").removesuffix("+00:00") + " UTC",
        "GET32": f"{ours.load.rate:,.0f}" if ours else "n/a",
        "GET_VERDICT": _plain_verdict(ours is not None and ours.load.rate >= TARGETS["get_rate"]),
        "P99_VERDICT": _plain_verdict(
            ours is not None and ours.load.p99_ms <= TARGETS["get_p99_ms"]
        ),
        "RATIO_VERDICT": _plain_verdict(_ratio_met(results)),
        "PUT_VERDICT": _plain_verdict(
            best_put is not None and best_put.load.rate >= TARGETS["put_rate"]
        ),
        "P99": f"{ours.load.p99_ms:.1f}" if ours else "n/a",
        "OURS_CPU": _cpu_us(ours),
        "FLASK_CPU": _cpu_us(flask),
        "WSGI_CPU": _cpu_us(wsgi),
        "RATIO32": f"{ours.load.rate / flask.load.rate:.2f}" if ours and flask else "n/a",
        **_ratios(results),
        "THREADS": _comparison(
            results, [(f"ours-sqlite-{c}t", f"ours, {c} thread(s) per worker") for c in counts]
        )
        + "\n"
        + _comparison(
            results,
            [(f"flask-floor-{c}t", f"Flask floor, {c} thread(s) per worker") for c in counts],
        ),
        "LOG_US": _step(results, ACCESS_LOG),
        "MET_US": _step(results, REQUEST_METRICS),
        "STO_US": _step(results, "+ storage latency histogram"),
        "BRK_US": _step(results, "+ circuit breaker"),
        "APP_US": f"{steps[2] - steps[1]:.0f}" if len(steps) > 2 else "n/a",
        "PUT": f"{best_put.load.rate:,.0f}" if best_put else "n/a",
        "PUT_CPU": _cpu_us(best_put),
        "PUT_GETS": f"{_per_request(best_put) / _per_request(ours):.1f}"
        if best_put and ours and _per_request(ours)
        else "n/a",
        "FULL_NOTE": (
            "above the target on its own"
            if full >= TARGETS["put_rate"]
            else "below the target on its own"
        ),
        "PUT_CEIL": f"{cores / _per_request(best_put):,.0f}" if _per_request(best_put) else "n/a",
        "CPU_VS_DISK": (
            "CPU runs out before the disk does"
            if _per_request(best_put) and cores / _per_request(best_put) < full
            else "the disk runs out before CPU does"
        ),
        "THREADS_N": str(threads),
        "OURS_CEIL": f"{cores / _per_request(ours):,.0f}" if _per_request(ours) else "n/a",
        "FLASK32": f"{flask.load.rate:,.0f}" if flask else "n/a",
        "CPU_RATIO": f"{_per_request(flask) / _per_request(ours):.2f}"
        if _per_request(ours)
        else "n/a",
        "EXTRA_PCT": f"{(_per_request(ours) / _per_request(flask) - 1) * 100:.0f}"
        if _per_request(flask)
        else "n/a",
        "WSGI32": f"{wsgi.load.rate:,.0f}" if wsgi else "n/a",
        "FULL": f"{results.sqlite_commits_per_s.get('FULL', 0):,.0f}",
        "NORMAL": f"{results.sqlite_commits_per_s.get('NORMAL', 0):,.0f}",
        "RSS": f"{_peak_mb(results, _ours(results)):.1f}" if footprint else "n/a",
        "RSS_DDB": f"{_peak_mb(results, f'ours-dynamodb-{threads}t'):.1f}" if dynamo else "n/a",
        "READY": f"{footprint.ready_seconds:.2f}" if footprint else "n/a",
        "SERVERS": _comparison(
            results,
            [
                *((f"ours-sqlite-{c}t", f"granian, {c} thread(s) per worker") for c in counts),
                ("ours-gunicorn-sync", "gunicorn sync"),
                (f"ours-gunicorn-gthread-{threads}t", f"gunicorn gthread, {threads} threads"),
            ],
        ),
        "DDB": f"{dynamo_run.load.rate:,.0f}" if dynamo_run else "n/a",
        "DDB_CPU": _cpu_us(dynamo_run),
        "DDB_MS": f"{_per_request(dynamo_run) * 1000:.1f}",
        "DDB_COST": f"{_per_request(dynamo_run) * 1e6 / 3600 * TASK_HOUR:.3f}",
        "SQL_MS": f"{_per_request(ours) * 1000:.2f}",
        "SQL_COST": f"{_per_request(ours) * 1e6 / 3600 * TASK_HOUR:.4f}",
        "READ_X": _times(READ_UNIT, _per_request(dynamo_run)),
        "WRITE_X": _times(WRITE_UNIT, _per_request(dynamo_run)),
        "PEAK_VCPU": f"{60 * _per_request(dynamo_run):.2f}",
        "PEAK_PCT": f"{60 * _per_request(dynamo_run) / 2 * 100:.0f}",
    }


def analysis(results: Results) -> str:
    """tools/bench/analysis.md with each @NAME@ replaced by this run's figure."""
    text = ANALYSIS.read_text().strip()
    for name, value in _fields(results).items():
        text = text.replace(f"@{name}@", value)
    leftover = sorted(set(re.findall(r"@[A-Z0-9_]+@", text)))
    if leftover:
        raise ValueError(
            f"tools/bench/analysis.md names figures the report does not have: {leftover}"
        )
    return text


def render(results: Results, elapsed: float) -> str:
    """The whole report."""
    start, end = results.load_average_start, results.load_average_end
    settings = results.settings
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `make bench` (tools/bench/report.py) from one run; the analysis at the",
        "     end is tools/bench/analysis.md, written by hand. Edit those files, not this one. -->",
        "",
        "## Measured (generated)",
        "",
        f"Run {results.started} to {results.finished} UTC ({elapsed:.0f} s). "
        f"Load average (1, 5, 15 min) before: {start[0]:.2f}, {start[1]:.2f}, {start[2]:.2f}; "
        f"after: {end[0]:.2f}, {end[1]:.2f}, {end[2]:.2f}. The bench itself keeps about two "
        "processes busy, so during a run the load average is ~2 plus whatever else runs; "
        "the 'others' CPU' column is the machine's busy time minus the server's and wrk's, "
        "the direct measure of interference.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in results.machine.items()) + ".",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in results.versions.items()) + ".",
        "",
        f"Every server: {settings['workers']} worker processes on loopback. {settings['users']:,} "
        "users loaded first: into SQLite through our `PUT /hello/<name>` "
        f"({results.user_load_seconds.get('sqlite', 0):.1f} s), into dynalite with BatchWriteItem "
        f"({results.user_load_seconds.get('dynamodb', 0):.1f} s). Each server warmed for "
        f"{settings['warmup_s']:g} s, then each run lasts {settings['duration_s']:g} s. "
        "wrk runs with one thread, so it can take one core of "
        "the two the servers also use. Ours runs with metrics, JSON access logs (to a file) and "
        "request ids on.",
        "",
        *(
            ["**Parts that failed in this run:** " + "; ".join(results.failures), ""]
            if results.failures
            else []
        ),
        "### Targets (issues 3 and 17)",
        "",
        *_targets(results),
        "",
        "### Pictures",
        "",
        "The tables below as charts (GitHub draws them; elsewhere the numbers are in the tables).",
        "",
        *_pictures(results),
        "### Ours against the reference apps (GET, same database, same granian settings)",
        "",
        *_ratio_table(results),
        "",
        "### Open loop: latency at a fixed rate, corrected for coordinated omission",
        "",
        *_open_loop(results),
        "",
        "### Where our CPU goes (one thread, best of 5 rounds of 5,000 requests)",
        "",
        *_breakdown_table(results),
        "",
        "### Server choice: our app on granian and on gunicorn (GET)",
        "",
        *_server_table(results),
        "",
        "### Every run",
        "",
        "errors are wrk's: socket errors (connect, read, write), timeouts, and *status* for "
        "answers of 400 or more (a 503 from load shedding counts there).",
        "",
        *_run_table(results),
        "",
        "### Start-up and memory",
        "",
        *_footprint_table(results),
        "",
        "### Disk",
        "",
        *_fsync_lines(results),
        "",
        "### Commands",
        "",
        "```",
        *(f"{name}: {command}" for name, command in results.commands.items()),
        "```",
        "",
        "## Analysis (written by hand: tools/bench/analysis.md)",
        "",
        analysis(results),
        "",
    ]
    return "\n".join(lines)
