"""Every Prometheus alert has a runbook section and a row that ties it to the SLOs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"
SLO = ROOT / "docs" / "slo.md"


def alert_rules() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: str(rule["alert"]))
def test_every_alert_has_a_runbook_section_at_its_anchor(rule: dict[str, object]) -> None:
    runbook = RUNBOOK.read_text()
    annotations = rule["annotations"]
    assert isinstance(annotations, dict)
    page, _, anchor = str(annotations["runbook"]).partition("#")
    assert page == "docs/runbook.md"
    # The anchor the annotation links to is followed by the heading that names the alert.
    after = runbook.split(f'<a id="{anchor}"></a>', 1)
    assert len(after) == 2, f"no anchor {anchor} in docs/runbook.md"
    heading = next(line for line in after[1].splitlines() if line.startswith("#"))
    assert f"`{rule['alert']}`" in heading


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: str(rule["alert"]))
def test_every_alert_is_mapped_to_the_slos(rule: dict[str, object]) -> None:
    rows = [line for line in SLO.read_text().splitlines() if line.startswith("| `")]
    assert any(line.startswith(f"| `{rule['alert']}` |") for line in rows)
