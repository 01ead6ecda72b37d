"""The bench report: targets judged from the run's own numbers, and the charts drawn from them."""

from __future__ import annotations

from tools.bench.__main__ import Results, Run
from tools.bench.charts import bar_chart
from tools.bench.harness import Load
from tools.bench.report import render


def _run(target: str, rate: float, p99: float, connections: int = 32) -> Run:
    load = Load(
        requests=int(rate * 10),
        seconds=10.0,
        errors={},
        p50_ms=p99 / 4,
        p90_ms=p99 / 2,
        p99_ms=p99,
        max_ms=p99 * 3,
        command="wrk",
        p999_ms=p99 * 2,
    )
    return Run(target, "GET", connections, load, rate * 10 * 300e-6, 1.0, 0.0, 2.0)


def _results(ours: float, ours_p99: float) -> Results:
    results = Results(
        started="2026-12-02T00:00:00+00:00",
        settings={"threads": 4, "workers": 2, "users": 10, "warmup_s": 1, "duration_s": 10},
        machine={"cores": "2"},
        versions={},
        load_average_start=(0.0, 0.0, 0.0),
    )
    results.runs = [
        _run("ours-sqlite-4t", ours, ours_p99),
        _run("flask-floor-4t", 8000, 10.0),
        _run("wsgi-ceiling-4t", 25000, 5.0),
    ]
    return results


def _row(report: str, starts: str) -> str:
    return next(line for line in report.splitlines() if line.startswith(starts))


def test_the_issue_17_targets_are_judged_at_their_edges() -> None:
    met = render(_results(ours=6800, ours_p99=12.0), 1.0)
    ratio = "| GET ours / Flask floor, 32 connections (issue 17)"
    tail = "| GET p99 ours / Flask floor, 32 connections (issue 17)"
    assert _row(met, ratio).endswith("| 0.85 | met |")
    assert "| 1.20x (12.0 / 10.0 ms; p99.9 24.00 / 20.00 ms) | met |" in _row(met, tail)
    missed = render(_results(ours=6790, ours_p99=12.1), 1.0)
    assert _row(missed, ratio).endswith("| **missed** |")
    assert _row(missed, tail).endswith("| **missed** |")


def test_the_report_draws_the_runs_it_reports() -> None:
    report = render(_results(ours=6800, ours_p99=12.0), 1.0)
    throughput = report.index('title "GET req/s, 32 connections"')
    chart = report[throughput : report.index("```", throughput)]
    assert 'x-axis ["ours", "Flask floor", "bare WSGI"]' in chart
    assert "bar [6800, 8000, 25000]" in chart
    assert 'y-axis "req/s" 0 --> 25000' in chart
    assert "bar [3, 2.5, 6, 5, 12, 10, 24, 20]" in report  # latency percentiles, ours and floor


def test_a_chart_scales_to_a_round_number_and_skips_what_was_not_measured() -> None:
    chart = bar_chart("t", "ms", [("a", 0.3), ("b", float("nan")), ("c", 2.6)])
    assert chart[3] == '    x-axis ["a", "c"]'
    assert chart[4] == '    y-axis "ms" 0 --> 5'
    assert chart[5] == "    bar [0.3, 2.6]"
    assert bar_chart("t", "ms", [("a", float("nan"))]) == []


def _open_loop(target: str, p99: float) -> dict[str, object]:
    spread = {"p50": 1.0, "p90": 2.0, "p99": p99, "p999": p99 * 2, "max": p99 * 3}
    return {
        "target": target,
        "rate": 4760,
        "seconds": 10,
        "connections": 64,
        "sent": 47600,
        "completed": 47600,
        "achieved_rate": 4759.0,
        "errors": {"status": 0, "socket": 0, "unsent": 0},
        "corrected_ms": spread,
        "service_ms": {**spread, "p99": 3.0, "p999": 4.0},
        "send_lag_ms": {"p50": 0.1, "p99": 0.5, "max": 1.0},
    }


def test_the_open_loop_runs_are_tabled_and_drawn() -> None:
    results = _results(ours=6800, ours_p99=12.0)
    assert "(not measured in this run)" in render(results, 1.0)
    results.openloop = [_open_loop("ours-sqlite-4t", 9.0), _open_loop("flask-floor-4t", 6.0)]
    report = render(results, 1.0)
    assert "same fixed rates, 4,760 GET/s, over 64 connections for 10 s" in report
    row = "| ours-sqlite-4t | 4,760 | 4,759 | 1.00 / 2.00 / 9.00 / 18.00 / 27.00 | 3.00 / 4.00 |"
    assert row in report
    labels = [f"{who} {p}" for p in ("p50", "p90", "p99", "p99.9") for who in ("ours", "floor")]
    assert "x-axis [" + ", ".join(f'"{label}"' for label in labels) + "]" in report
    assert "bar [1, 1, 2, 2, 9, 6, 18, 12]" in report
