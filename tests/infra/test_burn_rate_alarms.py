"""The CloudWatch SLO alarms: multi-window, multi-burn-rate, the same scheme as the rules file.

CloudWatch sees what the service cannot (the ALB's own 5xx, no target at all), so it stays the
SLO's source of truth at the edge. Its alarms must burn the same budgets over the same windows as
deploy/prometheus/rules.yml; these tests read both and compare, and evaluate the availability math
on an outage the way tests/infra/test_outage_alarms.py does.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.infra.terraform import (
    MODULES,
    ROOT,
    blocks,
    blocks_of,
    default,
    local,
    module_call,
    resource,
)
from tests.infra.terraform import value as hcl_value
from tests.infra.test_outage_alarms import _evaluate

OBSERVABILITY = MODULES / "observability"
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
TIERS: dict[str, dict[str, Any]] = local(OBSERVABILITY, "burn_tiers")
WINDOWS: dict[str, dict[str, Any]] = local(OBSERVABILITY, "burn_windows")
# rules.yml alert -> (SLO, tier of the Terraform)
ALERTS = {
    "HelloAvailabilityFastBurn": ("availability", "fast-burn"),
    "HelloAvailabilitySlowBurn": ("availability", "slow-burn"),
    "HelloAvailabilityBudgetTicket": ("availability", "budget-ticket"),
    "HelloLatencyFastBurn": ("latency", "fast-burn"),
    "HelloLatencySlowBurn": ("latency", "slow-burn"),
    "HelloLatencyBudgetTicket": ("latency", "budget-ticket"),
}
SECONDS = {"m": 60, "h": 3600, "d": 86400}


def _rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def _windows_and_threshold(expression: str) -> tuple[list[int], float]:
    """The windows (in seconds) an SLO alert of rules.yml reads, and the ratio it compares to."""
    terms = re.findall(r"_rate(\d+)([mhd]) > \(?([\d.]+)(?: \* ([\d.]+))?\)?", expression)
    assert len(terms) == 2, expression
    thresholds = {float(a) * float(b or 1) for _, _, a, b in terms}
    assert len(thresholds) == 1, "both windows of an alert burn at the same rate"
    return [int(n) * SECONDS[unit] for n, unit, _, _ in terms], thresholds.pop()


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_each_tier_reads_the_windows_and_burn_of_the_rules_file(alert: str) -> None:
    slo, tier = ALERTS[alert]
    windows, ratio = _windows_and_threshold(str(_rules()[alert]["expr"]))
    terraform = TIERS[tier]
    assert [
        WINDOWS[terraform["long"]]["seconds"],
        WINDOWS[terraform["short"]]["seconds"],
    ] == windows
    assert WINDOWS[terraform["long"]]["tier"] == WINDOWS[terraform["short"]]["tier"] == tier
    assert terraform["severity"] == _rules()[alert]["labels"]["severity"]
    if slo == "availability":
        assert terraform["error_percent"] == pytest.approx(100 * ratio)
    else:
        assert terraform["fast_percent"] == pytest.approx(100 - 100 * ratio)


def test_the_tiers_are_the_sre_workbook_scheme() -> None:
    # Budget spent when the alert fires: 2 % in 1 h at 14.4x, 5 % in 6 h at 6x (30 days).
    for tier, spent in (("fast-burn", 0.02), ("slow-burn", 0.05)):
        long = WINDOWS[TIERS[tier]["long"]]["seconds"]
        assert TIERS[tier]["burn"] * long / (30 * 86400) == pytest.approx(spent)
        assert TIERS[tier]["severity"] == "page"
    assert TIERS["budget-ticket"]["burn"] == 1
    assert TIERS["budget-ticket"]["severity"] == "ticket"
    for settings in TIERS.values():
        # Threshold = burn x budget: 0.1 % may fail, 1 % may be slow (docs/slo.md).
        assert settings["error_percent"] == pytest.approx(settings["burn"] * 0.1)
        assert settings["fast_percent"] == pytest.approx(100 - settings["burn"] * 1)
        assert WINDOWS[settings["short"]]["seconds"] < WINDOWS[settings["long"]]["seconds"]


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_every_window_is_a_period_cloudwatch_accepts(window: str) -> None:
    seconds = WINDOWS[window]["seconds"]
    assert seconds % 60 == 0
    # One evaluation period: up to 1 day below an hour's period, up to 7 days from it.
    assert seconds <= (604800 if seconds >= 3600 else 86400)


@pytest.mark.parametrize("slo", ["availability", "latency"])
def test_window_alarms_read_exactly_their_window_and_notify_nobody(slo: str) -> None:
    alarm = resource(OBSERVABILITY, "aws_cloudwatch_metric_alarm", f"{slo}_burn")
    assert hcl_value(alarm, "for_each") == "${local.burn_windows}"
    assert hcl_value(alarm, "alarm_name") == f"${{var.name}}-{slo}-${{each.key}}"
    assert hcl_value(alarm, "evaluation_periods") == 1
    assert hcl_value(alarm, "treat_missing_data") == "notBreaching"
    # The composite of the tier notifies; a lone window is not an alert.
    assert "alarm_actions" not in alarm
    assert "ok_actions" not in alarm
    if slo == "latency":
        assert hcl_value(alarm, "period") == "${each.value.seconds}"
        assert hcl_value(alarm, "comparison_operator") == "LessThanThreshold"
        assert hcl_value(alarm, "threshold") == "${local.burn_tiers[each.value.tier].fast_percent}"
    else:
        queries = blocks_of(alarm, "metric_query")
        periods = {hcl_value(hcl_value(q, "metric"), "period") for q in queries if "metric" in q}
        assert periods == {"${each.value.seconds}"}
        assert hcl_value(alarm, "comparison_operator") == "GreaterThanThreshold"
        assert hcl_value(alarm, "threshold") == "${local.burn_tiers[each.value.tier].error_percent}"


def test_latency_is_the_share_of_responses_at_or_under_the_slo_threshold() -> None:
    alarm = resource(OBSERVABILITY, "aws_cloudwatch_metric_alarm", "latency_burn")
    assert hcl_value(alarm, "metric_name") == "TargetResponseTime"
    # Percentile rank: the percentage of requests with a value at or under the bound.
    assert hcl_value(alarm, "extended_statistic") == "PR(:${var.latency_threshold_seconds})"
    threshold = default(OBSERVABILITY, "latency_threshold_seconds")
    assert threshold == 0.3
    # The service's histogram has that bound too, so both sides count the same requests.
    assert f'le="{threshold}"' in RULES.read_text()


@pytest.mark.parametrize("slo", ["availability", "latency"])
def test_composites_page_when_the_long_and_the_short_window_both_burn(slo: str) -> None:
    composite = resource(OBSERVABILITY, "aws_cloudwatch_composite_alarm", slo)
    assert hcl_value(composite, "for_each") == "${local.burn_tiers}"
    assert hcl_value(composite, "alarm_name") == f"${{var.name}}-{slo}-${{each.key}}"
    window = f"aws_cloudwatch_metric_alarm.{slo}_burn"
    assert hcl_value(composite, "alarm_rule") == (
        f'ALARM(\\"${{{window}[each.value.long].alarm_name}}\\") AND '
        f'ALARM(\\"${{{window}[each.value.short].alarm_name}}\\")'
    )
    assert hcl_value(composite, "alarm_actions") == "${local.alarm_actions}"
    assert hcl_value(composite, "ok_actions") == "${local.alarm_actions}"


def _availability_breaches(window: str, datapoints: dict[str, float]) -> bool:
    alarm = resource(OBSERVABILITY, "aws_cloudwatch_metric_alarm", "availability_burn")
    (returned,) = [q for q in blocks_of(alarm, "metric_query") if q.get("return_data") == [True]]
    result = _evaluate(str(hcl_value(returned, "expression")), datapoints)
    if result is None:
        return bool(hcl_value(alarm, "treat_missing_data") == "breaching")
    return bool(result > TIERS[WINDOWS[window]["tier"]]["error_percent"])


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_every_availability_window_sees_a_total_outage_and_not_a_quiet_night(window: str) -> None:
    # No target registered: only the ALB's own 503s are reported.
    assert _availability_breaches(window, {"elb5xx": 120.0})
    assert not _availability_breaches(window, {})
    assert not _availability_breaches(window, {"requests": 100000.0, "target5xx": 50.0})
    burn = TIERS[WINDOWS[window]["tier"]]["burn"]
    # Just above and just below burn x 0.1 %.
    above = {"requests": 100000.0, "target5xx": burn * 100 * 1.1}
    below = {"requests": 100000.0, "target5xx": burn * 100 * 0.9}
    assert _availability_breaches(window, above)
    assert not _availability_breaches(window, below)


def test_deployments_still_roll_back_on_the_fast_guards() -> None:
    (output,) = [
        b.body for b in blocks(OBSERVABILITY, "output") if b.labels == ("deployment_alarm_names",)
    ]
    names = str(hcl_value(output, "value"))
    # The two rollout guards first, then the canary's per-target-group alarms (test_canary_policy).
    assert names.startswith(
        "${concat(['${aws_cloudwatch_metric_alarm.http_5xx_rate.alarm_name}', "
        "'${aws_cloudwatch_metric_alarm.p99_latency.alarm_name}'],"
    )
    service = module_call(MODULES / "stack", "service")
    assert "module.observability.deployment_alarm_names" in hcl_value(
        service, "deployment_alarm_names"
    )
