"""One rendered chart per value set (chart/ci/*-values.yaml), shared by the chart tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helm.chart import REPO_RULES, VALUE_SETS, Chart, Manifest

RULES_FIXTURE = """\
groups:
  - name: hello-birthday-test
    rules:
      - record: job:hello_http_requests:rate5m
        expr: sum by (job) (rate(hello_http_requests_total[5m]))
      - alert: HelloTestAlert
        expr: vector(1) > 2
        labels: {severity: ticket}
        annotations:
          summary: "{{ $labels.job }} has {{ $value }}"
"""


@pytest.fixture(scope="session")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's rules file, or one standing in for it until it exists (issue 14)."""
    if REPO_RULES.exists():
        return REPO_RULES
    path = tmp_path_factory.mktemp("rules") / "rules.yml"
    path.write_text(RULES_FIXTURE)
    return path


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory, rules_file: Path) -> Chart:
    return Chart(tmp_path_factory.mktemp("chart"), rules_file)


@pytest.fixture(scope="session")
def rendered(chart: Chart) -> dict[str, list[Manifest]]:
    return {name: chart.render(name) for name in VALUE_SETS}
