"""The rules file and the collector's configuration, checked and unit-tested by promtool itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules.yml"
UNIT_TESTS = (PROMETHEUS / "rules.test.yml", PROMETHEUS / "rules-long.test.yml")
COLLECTOR = PROMETHEUS / "collector.yml"

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool: `make test` installs Debian's prometheus"
)


def promtool(*arguments: str | Path, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *map(str, arguments)], cwd=cwd, capture_output=True, text=True, check=False
    )


def alerts() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def unit_tests() -> list[dict[str, Any]]:
    return [test for path in UNIT_TESTS for test in yaml.safe_load(path.read_text())["tests"]]


def test_the_rules_file_is_valid() -> None:
    checked = promtool("check", "rules", RULES)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rule_unit_tests_pass() -> None:
    tested = promtool("test", "rules", *UNIT_TESTS)
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize("alert", alerts())
def test_every_alert_is_tested_firing_and_quiet(alert: str) -> None:
    cases = [case for test in unit_tests() for case in test["alert_rule_test"]]
    mine = [case for case in cases if case["alertname"] == alert]
    assert any(case.get("exp_alerts") for case in mine), "no test where it fires"
    assert any(not case.get("exp_alerts") for case in mine), "no test where it stays quiet"


def test_a_mutated_threshold_fails_the_unit_tests(tmp_path: Path) -> None:
    # The fast burn's threshold raised from 14.4x to 20x: the test that must see it fire fails.
    rules = RULES.read_text()
    assert rules.count("(14.4 * 0.001)") == 2
    (tmp_path / "rules.yml").write_text(rules.replace("(14.4 * 0.001)", "(20 * 0.001)"))
    shutil.copy(UNIT_TESTS[0], tmp_path)
    tested = promtool("test", "rules", UNIT_TESTS[0].name, cwd=tmp_path)
    assert tested.returncode != 0
    assert "alertname: HelloAvailabilityFastBurn, time: 50m" in tested.stdout + tested.stderr


def test_the_collector_configuration_is_valid() -> None:
    checked = promtool("check", "config", "--agent", COLLECTOR)
    assert checked.returncode == 0, checked.stdout + checked.stderr
