"""A total outage makes the availability alarms fire.

CloudWatch leaves out a metric with no data for the period: the target group's RequestCount is
not reported when no target is registered, nor HealthyHostCount. An alarm whose math divides by
such a metric evaluates to no data in exactly the outage it should see. These tests evaluate the
alarms' metric math on the outage's datapoints the way CloudWatch does (a missing metric is
absent, FILL replaces it, a division by nothing or zero is no data).
"""

from __future__ import annotations

import re

from tests.infra.terraform import MODULES, blocks_of, default, interpolation, resource, value

OBSERVABILITY = MODULES / "observability"


def _evaluate(expression: str, datapoints: dict[str, float]) -> float | None:
    """One period of a metric-math expression made of + - * / ( ) numbers, ids and FILL(id, n)."""
    tokens = re.findall(
        r"FILL\(\s*(\w+)\s*,\s*([\d.]+)\s*\)|(\d+(?:\.\d+)?)|(\w+)|([-+*/()])", expression
    )
    python = []
    for fill_id, fill_value, number, name, operator in tokens:
        if fill_id:
            python.append(repr(datapoints.get(fill_id, float(fill_value))))
        elif number:
            python.append(number)
        elif name:
            if name not in datapoints:
                return None
            python.append(repr(datapoints[name]))
        else:
            python.append(operator)
    try:
        result: float = eval(" ".join(python), {"__builtins__": {}})  # noqa: S307 - digits and operators only
    except ZeroDivisionError:
        return None
    return result


def _math(alarm: str) -> str:
    body = resource(OBSERVABILITY, "aws_cloudwatch_metric_alarm", alarm)
    (returned,) = [q for q in blocks_of(body, "metric_query") if q.get("return_data") == [True]]
    return str(value(returned, "expression"))


def _breaches(alarm: str, result: float | None) -> bool:
    body = resource(OBSERVABILITY, "aws_cloudwatch_metric_alarm", alarm)
    if result is None:
        return bool(value(body, "treat_missing_data") == "breaching")
    threshold_text = str(value(body, "threshold"))
    reference = interpolation(threshold_text)
    threshold = float(
        default(OBSERVABILITY, reference.removeprefix("var."))
        if reference.startswith("var.")
        else threshold_text
    )
    operator = value(body, "comparison_operator")
    return {
        "GreaterThanThreshold": result > threshold,
        "GreaterThanOrEqualToThreshold": result >= threshold,
        "LessThanThreshold": result < threshold,
    }[operator]


def test_the_5xx_alarm_fires_when_the_alb_answers_every_request_itself() -> None:
    # No target registered: only the ALB's own 503s are reported.
    result = _evaluate(_math("http_5xx_rate"), {"elb5xx": 120.0})
    assert _breaches("http_5xx_rate", result), f"5xx rate evaluates to {result}"


def test_the_5xx_alarm_stays_quiet_without_traffic_and_counts_target_errors() -> None:
    assert not _breaches("http_5xx_rate", _evaluate(_math("http_5xx_rate"), {}))
    healthy = {"requests": 1000.0, "target5xx": 1.0}
    assert not _breaches("http_5xx_rate", _evaluate(_math("http_5xx_rate"), healthy))
    failing = {"requests": 1000.0, "target5xx": 200.0}
    assert _breaches("http_5xx_rate", _evaluate(_math("http_5xx_rate"), failing))


def test_zero_healthy_or_zero_registered_targets_alarm() -> None:
    body = resource(OBSERVABILITY, "aws_cloudwatch_metric_alarm", "no_healthy_targets")
    (per_group,) = [d["metric_query"] for d in blocks_of(body, "dynamic") if "metric_query" in d]
    metric = blocks_of(blocks_of(per_group, "content")[0], "metric")[0]
    assert value(metric, "metric_name") == "HealthyHostCount"
    math = _math("no_healthy_targets")
    # Neither group reports (nothing registered anywhere): the ALB answers everything itself.
    assert _breaches("no_healthy_targets", _evaluate(math, {}))
    assert _breaches("no_healthy_targets", _evaluate(math, {"healthyprimary": 0.0}))
    assert _breaches("no_healthy_targets", None), "no data at all is an outage too"
    # Between canary deployments one group is empty by design: the other one counts.
    assert not _breaches("no_healthy_targets", _evaluate(math, {"healthyalternate": 2.0}))
    assert not _breaches("no_healthy_targets", _evaluate(math, {"healthyprimary": 1.0}))


def test_a_new_environment_without_container_insights_data_does_not_alarm() -> None:
    # Before the service first reports, Container Insights has no data for it.
    assert not _breaches("running_below_desired", None)
