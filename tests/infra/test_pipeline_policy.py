"""What the pipeline does with Terraform and a failed deploy, read from .github.

Each of these once failed silently: the state written without its KMS key, a provider range
that lets every init pick a newer provider than the one validated, a deploy left half rolled out
when the job was cancelled or timed out.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.infra.terraform import ROOT, TERRAFORM, blocks, value

GITHUB = ROOT / ".github"
ROOTS = [TERRAFORM / "envs" / "staging", TERRAFORM / "envs" / "prod", TERRAFORM / "bootstrap"]
SCHEMA_PROVIDER = "6.69.1"  # the provider version /work/shared/tools/tf_schema.py validates against


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load((GITHUB / "workflows" / "deploy.yml").read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["deploy"]["steps"]
    return steps


def test_every_backend_init_in_the_pipeline_uses_the_state_key() -> None:
    inits = []
    for path in GITHUB.rglob("*.y*ml"):
        for command in re.findall(
            r"terraform -chdir[^\n]*\binit\b(?:[^\n]*\\\n)*[^\n]*", path.read_text()
        ):
            if "-backend=false" not in command:
                inits.append((path.name, command))
    assert inits, "the pipeline initialises a backend somewhere"
    for name, command in inits:
        assert "kms_key_id=" in command, f"{name}: {command}"


def test_every_root_pins_the_aws_provider_exactly() -> None:
    for directory in ROOTS:
        (settings,) = [b.body for b in blocks(directory, "terraform")]
        (providers,) = settings["required_providers"]
        assert value(providers, "aws")["version"] == SCHEMA_PROVIDER, directory.name


def test_a_cancelled_or_timed_out_deploy_is_rolled_back() -> None:
    (rollback,) = [s for s in _steps() if s.get("id") == "rollback"]
    assert "cancelled()" in rollback["if"]
    assert "failure()" in rollback["if"]


def test_every_step_from_the_push_on_has_a_timeout() -> None:
    steps = _steps()
    start = next(i for i, s in enumerate(steps) if str(s.get("name", "")).startswith("Push"))
    missing = [
        s["name"]
        for s in steps[start:]
        if "timeout-minutes" not in s and str(s.get("name")) != "Fail loudly"
    ]
    assert missing == []


# scripts/loadtest seeds 20 users first; scripts/smoke sends 6 requests.
SEEDS_AND_SMOKE = 26


def test_stagings_waf_limit_admits_the_load_test_twice_in_one_window() -> None:
    main = yaml.safe_load((GITHUB / "workflows" / "main.yml").read_text())
    load = main["jobs"]["staging"]["with"]
    per_run = load["loadtest-rate"] * load["loadtest-duration"] + SEEDS_AND_SMOKE
    (stack,) = [b.body for b in blocks(TERRAFORM / "envs" / "staging", "module")]
    # A re-run of the deploy within the WAF's 5-minute window sends all of it again.
    assert value(stack, "waf_rate_limit") > 2 * per_run
