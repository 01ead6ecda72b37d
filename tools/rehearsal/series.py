"""Count the series one task ships to the workspace, for docs/cost.md.

Runs the service as the task does (DynamoDB, here dynalite), answers every route with every
status it can give, storage outage included, and counts what the real collector, with the
task's collector.yml at its own 15 s interval (window scale 1), delivered to the stand-in
workspace. Usage: `.venv/bin/python -m tools.rehearsal.series` (prints a JSON summary).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import urllib.request
from collections import Counter
from fractions import Fraction
from pathlib import Path

import yaml

from tools.local.server import ServerProcess, request
from tools.rehearsal.measure import ROOT
from tools.rehearsal.monitoring import COLLECTOR, RULES, Monitoring, duration_ms
from tools.rehearsal.scenarios import TABLE, dynalite

BODY = b'{"dateOfBirth": "2000-01-31"}'
JSON = {"Content-Type": "application/json"}
# A metric with its matchers, directly followed by a range: `name{...}[5m]`.
SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*\{[^}]*\})\[(\w+)\]")
MONTH_MS = 730 * 3_600_000


def exercise(url: str) -> Counter[tuple[str, str, int]]:
    """Every route and answer the service has while storage is up; (method, path, status)."""
    calls: list[tuple[str, str, bytes | None, dict[str, str]]] = [
        ("PUT", "/hello/alice", BODY, JSON),
        ("GET", "/hello/alice", None, {}),
        ("HEAD", "/hello/alice", None, {}),
        ("OPTIONS", "/hello/alice", None, {}),
        ("GET", "/hello/nobody", None, {}),
        ("GET", "/hello/al1ce", None, {}),
        ("PUT", "/hello/alice", b'{"dateOfBirth": "2999-01-01"}', JSON),
        ("PUT", "/hello/alice", b"{not json", JSON),
        ("PUT", "/hello/alice", BODY, {"Content-Type": "text/plain"}),
        ("PUT", "/hello/alice", b"x" * 70_000, JSON),
        ("DELETE", "/hello/alice", None, {}),
        ("GET", "/nothing/here", None, {}),
        ("GET", "/healthz", None, {}),
        ("GET", "/readyz", None, {}),
        ("GET", "/metrics", None, {}),
        ("GET", "/openapi.json", None, {}),
        ("GET", "/docs", None, {}),
        ("GET", "/docs/init.js", None, {}),
        ("GET", "/docs/missing.css", None, {}),
    ]
    seen: Counter[tuple[str, str, int]] = Counter()
    for method, path, body, headers in calls:
        reply = request(url + path, method, body, headers)
        seen[(method, path, reply.status)] += 1
    return seen


def outage(url: str) -> Counter[tuple[str, str, int]]:
    """Storage down: 503s on both routes, storage errors, then the breaker's refusals."""
    seen: Counter[tuple[str, str, int]] = Counter()
    for index in range(8):
        method = "PUT" if index % 2 == 0 else "GET"
        reply = request(url + "/hello/alice", method, BODY if method == "PUT" else None, JSON)
        seen[(method, "/hello/alice", reply.status)] += 1
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = request(url + "/readyz").status
        seen[("GET", "/readyz", status)] += 1
        if status == 503:
            break
        time.sleep(0.2)
    return seen


def query_samples_per_month(monitoring: Monitoring, interval_ms: int) -> int:
    """The samples the workspace's ruler reads in a month for one task's series.

    Every range selector of rules.yml reads each series it matches once per scrape in its
    window, at every evaluation of its group. Instant selectors of recorded series read one
    sample each and are left out (well under 0.1 % here).
    """
    total = 0
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        evaluations = MONTH_MS // duration_ms(group["interval"])
        for rule in group["rules"]:
            for selector, window in SELECTOR.findall(" ".join(rule["expr"].split())):
                matched = len(monitoring.query(selector))
                total += matched * (duration_ms(window) // interval_ms) * evaluations
    return total


def _collector_counters(ready_url: str) -> dict[str, float]:
    """The collector's own remote-write counters, from its /metrics."""
    with urllib.request.urlopen(ready_url.replace("/-/ready", "/metrics"), timeout=5) as reply:
        lines = reply.read().decode().splitlines()
    wanted = ("prometheus_remote_storage_bytes_total", "prometheus_remote_storage_samples_total")
    return {
        name: sum(float(line.split()[-1]) for line in lines if line.startswith(name + "{"))
        for name in wanted
    }


def main() -> None:
    """Run it and print the counts."""
    work = Path(tempfile.mkdtemp(prefix="series-", dir=ROOT / "var"))
    interval = yaml.safe_load(COLLECTOR.read_text())["global"]["scrape_interval"]
    with dynalite(work) as db, Monitoring(work, scale=Fraction(1)) as monitoring:
        env = db.environment(TABLE) | {"HELLO_STORAGE_TIMEOUT": "0.5", "TMPDIR": str(work)}
        server = ServerProcess(env, work / "server.log").start()
        try:
            answers = exercise(server.url)
            db.stop()
            answers += outage(server.url)
            db.start()
            # Past the breaker's open second, so a call goes through and succeeds again.
            time.sleep(1.5)
            answers += exercise(server.url)
            monitoring.watch("task", server.port)
            # Two scrapes after the last request, so every series has arrived.
            time.sleep(2 * duration_ms(interval) / 1000 + 6)
            series = monitoring.query('{job="hello-birthday"}')
            shipped = _collector_counters(monitoring.collectors["task"].ready_url)
            qsp = query_samples_per_month(monitoring, duration_ms(interval))
        finally:
            server.stop()
    names = Counter(s["metric"]["__name__"] for s in series)
    print(
        json.dumps(
            {
                "scrape_interval": interval,
                "series per task": len(series),
                "samples per task per month (730 h)": len(series)
                * MONTH_MS
                // duration_ms(interval),
                "remote-write bytes per sample (snappy-compressed protobuf, as sent)": round(
                    shipped["prometheus_remote_storage_bytes_total"]
                    / shipped["prometheus_remote_storage_samples_total"],
                    1,
                ),
                "rule-evaluation samples processed per task per month (730 h)": qsp,
                "series by metric": dict(sorted(names.items())),
                "answers exercised": sorted(f"{m} {p} {s}" for (m, p, s) in answers),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
