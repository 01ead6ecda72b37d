"""The rehearsal's monitoring parts: the window-scale transform and the webhook recorder."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hcl2.api import load as load_hcl
from hypothesis import given
from hypothesis import strategies as st
from tools.local.ports import free_port
from tools.rehearsal.measure import ROOT
from tools.rehearsal.monitoring import (
    ALERTMANAGER,
    COLLECTOR,
    RULES,
    WINDOW_SCALE,
    Daemon,
    WebhookRecorder,
    alertmanager_config,
    collector_config,
    duration_ms,
    format_ms,
    scale_duration,
    scale_expr,
    scale_rules,
)

RANGE = re.compile(r"\[(\w+)(?::(\w*))?\]")
promtool = pytest.mark.skipif(shutil.which("promtool") is None, reason="make test installs it")
alertmanager = pytest.mark.skipif(
    shutil.which("prometheus-alertmanager") is None, reason="make test installs it"
)


def test_durations_parse_as_prometheus_writes_them() -> None:
    assert duration_ms("1h30m") == 5_400_000
    assert duration_ms("500ms") == 500
    assert duration_ms("3d") == 259_200_000
    for bad in ("", "5", "1x", "5m garbage", "m5"):
        with pytest.raises(ValueError, match="not a Prometheus duration"):
            duration_ms(bad)


@given(st.integers(min_value=1, max_value=10**9))
def test_scaling_divides_every_duration_exactly_to_the_millisecond(thirtieths: int) -> None:
    production = thirtieths * 30
    assert scale_duration(format_ms(production), Fraction(1, 30)) == format_ms(thirtieths)
    assert duration_ms(format_ms(production)) == production


def test_scale_rounds_to_the_millisecond_and_never_to_zero() -> None:
    assert scale_duration("5s", Fraction(1, 30)) == "167ms"
    assert scale_duration("1ms", Fraction(1, 30)) == "1ms"


def test_ranges_and_subquery_steps_are_scaled_and_string_literals_are_not() -> None:
    expr = 'max_over_time(rate(x{le="0.3",path=~"/a[5m]"}[5m])[1h:30s]) / y[3d]'
    assert scale_expr(expr, Fraction(1, 30)) == (
        'max_over_time(rate(x{le="0.3",path=~"/a[5m]"}[10s])[120s:1s]) / y[8640s]'
    )
    assert scale_expr("z[1h:]", Fraction(1, 30)) == "z[120s:]"


def test_an_offset_is_refused_rather_than_left_unscaled() -> None:
    with pytest.raises(ValueError, match="offset"):
        scale_expr("rate(x[5m] offset 1h)", Fraction(1, 30))
    assert scale_expr('x{a="offset"}[1m]', Fraction(1, 2)) == 'x{a="offset"}[30s]'


def _durations(expr: str) -> list[int]:
    return [duration_ms(d) for pair in RANGE.findall(expr) for d in pair if d]


def test_the_rehearsals_rules_are_the_real_ones_with_every_duration_scaled() -> None:
    original = yaml.safe_load(RULES.read_text())
    scaled = scale_rules(original, WINDOW_SCALE)
    assert len(scaled["groups"]) == len(original["groups"])
    for group, scaled_group in zip(original["groups"], scaled["groups"], strict=True):
        assert duration_ms(scaled_group["interval"]) == duration_ms(group["interval"]) / 30
        for rule, scaled_rule in zip(group["rules"], scaled_group["rules"], strict=True):
            assert _durations(scaled_rule["expr"]) == [d / 30 for d in _durations(rule["expr"])]
            if "for" in rule:
                assert duration_ms(scaled_rule["for"]) == duration_ms(rule["for"]) / 30
            # Nothing but the durations differs: names, labels, annotations, thresholds.
            blank = {**rule, "expr": RANGE.sub("[]", rule["expr"]), "for": None}
            assert {**scaled_rule, "expr": RANGE.sub("[]", scaled_rule["expr"]), "for": None} == (
                blank
            )
    # The file on disk is left as it was.
    assert yaml.safe_load(RULES.read_text()) == original


def _collector() -> dict[str, Any]:
    task: dict[str, Any] = yaml.safe_load(COLLECTOR.read_text())
    return collector_config(
        task, "127.0.0.1:1234", "http://127.0.0.1:9/api/v1/write", Fraction(1, 30)
    )


def test_the_collector_differs_from_the_tasks_only_in_target_url_sigv4_and_durations() -> None:
    task = yaml.safe_load(COLLECTOR.read_text())
    local = _collector()
    assert local["global"]["scrape_interval"] == "500ms"
    assert local["global"]["scrape_timeout"] == "167ms"
    assert local["global"]["external_labels"] == task["global"]["external_labels"]
    assert local["scrape_configs"][0]["static_configs"] == [{"targets": ["127.0.0.1:1234"]}]
    (remote,) = local["remote_write"]
    assert remote == {
        "url": "http://127.0.0.1:9/api/v1/write",
        "queue_config": {"batch_send_deadline": "167ms"},
    }
    # Put back what the rehearsal changes, and it is the task's file.
    local["global"] |= {"scrape_interval": "15s", "scrape_timeout": "5s"}
    local["scrape_configs"][0]["static_configs"] = task["scrape_configs"][0]["static_configs"]
    remote |= {"url": task["remote_write"][0]["url"], "sigv4": task["remote_write"][0]["sigv4"]}
    remote["queue_config"] = task["remote_write"][0]["queue_config"]
    assert local == task


def test_a_collector_without_sigv4_is_refused() -> None:
    task = yaml.safe_load(COLLECTOR.read_text())
    del task["remote_write"][0]["sigv4"]
    with pytest.raises(ValueError, match="signs its remote write"):
        collector_config(task, "127.0.0.1:1", "http://127.0.0.1:2/api/v1/write", WINDOW_SCALE)


@promtool
def test_the_rehearsal_collector_and_rules_pass_promtool(tmp_path: Path) -> None:
    collector = tmp_path / "collector.yml"
    collector.write_text(yaml.safe_dump(_collector()))
    checked = subprocess.run(
        ["promtool", "check", "config", "--agent", str(collector)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(scale_rules(yaml.safe_load(RULES.read_text()), WINDOW_SCALE)))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alert_manager_keeps_its_routing_and_posts_to_the_webhook() -> None:
    definition = yaml.safe_load(ALERTMANAGER.read_text())
    production = yaml.safe_load(definition["alertmanager_config"])
    local = alertmanager_config(definition, "http://127.0.0.1:9/notify", Fraction(1, 30))
    assert local["route"] == {
        **production["route"],
        "group_wait": "1s",
        "group_interval": "10s",
        "repeat_interval": "480s",
    }
    assert local["receivers"] == [
        {
            "name": "sns",
            "webhook_configs": [{"url": "http://127.0.0.1:9/notify", "send_resolved": True}],
        }
    ]


def test_the_rehearsals_routing_is_the_workspaces_in_terraform() -> None:
    module = ROOT / "infra" / "terraform" / "modules" / "prometheus" / "main.tf"
    with module.open() as handle:
        blocks = load_hcl(handle)["locals"]
    (workspace,) = next(b["alertmanager_config"] for b in blocks if "alertmanager_config" in b)
    ours = yaml.safe_load(yaml.safe_load(ALERTMANAGER.read_text())["alertmanager_config"])
    assert ours["route"] == workspace["route"]
    assert [r["name"] for r in ours["receivers"]] == [r["name"] for r in workspace["receivers"]]
    assert all(r["sns_configs"] for r in workspace["receivers"])


def _post(url: str, body: bytes) -> int:
    outgoing = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(outgoing, timeout=5) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return error.code


def _payload(status: str, *alerts: tuple[str, str]) -> bytes:
    # The shape of Alertmanager's webhook (version 4), trimmed to what the recorder reads.
    return json.dumps(
        {
            "version": "4",
            "status": status,
            "receiver": "sns",
            "alerts": [{"status": s, "labels": {"alertname": n}} for n, s in alerts],
        }
    ).encode()


def test_the_recorder_keeps_each_notification_with_when_it_arrived() -> None:
    recorder = WebhookRecorder().start()
    try:
        before = time.monotonic()
        assert _post(recorder.url, _payload("firing", ("A", "firing"), ("B", "firing"))) == 200
        middle = time.monotonic()
        # A group still firing carries its resolved alerts too: each keeps its own state.
        assert _post(recorder.url, _payload("firing", ("A", "resolved"), ("B", "firing"))) == 200
        assert _post(recorder.url, b"{not json") == 400
        assert _post(recorder.url, json.dumps({"status": "firing"}).encode()) == 400
        assert recorder.rejected == 2
        assert len(recorder.notifications) == 2
        first = recorder.first("A")
        assert first is not None
        assert before <= first <= middle
        assert recorder.first("A", "resolved") == recorder.notifications[1].received
        assert recorder.first("A", after=middle) is None
        assert recorder.first("C") is None
        assert recorder.alertnames() == {"A", "B"}
        assert recorder.alertnames(start=middle) == {"B"}
        assert recorder.wait_for("B", before, timeout=1) == first
        started = time.monotonic()
        assert recorder.wait_for("C", before, timeout=0.3) is None
        assert time.monotonic() - started >= 0.3
    finally:
        recorder.stop()


@alertmanager
def test_real_alertmanager_notifications_reach_the_recorder(tmp_path: Path) -> None:
    recorder = WebhookRecorder().start()
    port = free_port()
    config = alertmanager_config(
        yaml.safe_load(ALERTMANAGER.read_text()), recorder.url, Fraction(1, 30)
    )
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    daemon = Daemon(
        "alertmanager",
        [
            "prometheus-alertmanager",
            f"--config.file={tmp_path / 'am.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        f"http://127.0.0.1:{port}/-/ready",
        tmp_path / "am.log",
    )
    try:
        sent = time.monotonic()
        alert = [{"labels": {"alertname": "HelloStorageErrors", "severity": "page"}}]
        assert _post(f"http://127.0.0.1:{port}/api/v2/alerts", json.dumps(alert).encode()) == 200
        # group_wait is 30 s / 30 = 1 s.
        at = recorder.wait_for("HelloStorageErrors", sent, timeout=15)
        assert at is not None
        assert at - sent >= 1.0
        assert recorder.notifications[0].status == "firing"
    finally:
        daemon.stop()
        recorder.stop()


def test_the_metrics_missing_verdict_is_judged_from_its_record() -> None:
    from tools.rehearsal.load import Outcome
    from tools.rehearsal.measure import Timeline
    from tools.rehearsal.scenarios import FULL
    from tools.rehearsal.scenarios_monitoring import (
        MISSING_ALERT,
        MissingRun,
        judge_alert_metrics_missing,
        promised,
    )

    served = Outcome(0, "GET", "alice", None, 101.0, 101.01, 200, None, None, None, "s1")

    def judged(at: float | None, notified: set[str], *, answered: bool = True) -> bool:
        run = MissingRun("", [served] if answered else [], Timeline(), 100.0, at, notified)
        return judge_alert_metrics_missing(run, FULL).passed

    in_time = 100.0 + promised(MISSING_ALERT)
    assert judged(in_time, {MISSING_ALERT})
    assert not judged(None, set())
    assert not judged(in_time + 1, {MISSING_ALERT})
    assert not judged(in_time, {MISSING_ALERT, "HelloStorageErrors"})
    # No answer recorded after the kill: the service was not shown to keep answering.
    assert not judged(in_time, {MISSING_ALERT}, answered=False)
