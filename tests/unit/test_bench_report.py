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
