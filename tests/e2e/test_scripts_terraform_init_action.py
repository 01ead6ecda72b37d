"""The Terraform variables that .github/actions/terraform-init writes for the pipeline.

The action's script runs here up to `terraform init` (which needs the S3 backend), and what it
writes is held against the variables the Terraform configurations declare, so a renamed or a new
required variable fails here instead of in the first deploy after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from hcl2.api import load as load_hcl

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / ".github" / "actions" / "terraform-init" / "action.yml"
ENVIRONMENTS = ["staging", "prod"]
SHA = "0123456789abcdef0123456789abcdef01234567"

FULL = {
    "REGION": "eu-west-1",
    "ACCOUNT_ID": "123456789012",
    "DOMAIN_NAME": "hello.example.com",
    "ROUTE53_ZONE_ID": "Z0123456789",
    "CERTIFICATE_ARN": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
    "ALARM_EMAIL": "oncall@example.com",
    "STATE_BUCKET": "state-bucket",
    "STATE_KMS_KEY_ARN": "arn:aws:kms:eu-west-1:123456789012:key/abc",
    "CREATE_OIDC_PROVIDER": "false",
    "ENABLE_AUTH": "true",
    "REPOSITORY": "owner/hello-birthday",
    "IMAGE_TAG": SHA,
}
MINIMAL = {
    **dict.fromkeys(FULL, ""),
    "REGION": "eu-west-1",
    "DOMAIN_NAME": "hello.example.com",
    "STATE_BUCKET": "state-bucket",
    "STATE_KMS_KEY_ARN": "arn:aws:kms:eu-west-1:123456789012:key/abc",
    "REPOSITORY": "owner/hello-birthday",
    "IMAGE_TAG": SHA,
}


def variables_script() -> str:
    """The action's script without its last command, `terraform init` of the S3 backend."""
    # The action's last step (the only one with a `run: |` block) ends the file.
    _, marker, block = ACTION.read_text().partition("      run: |\n")
    assert marker, "the action no longer has a run block"
    head, init, _ = textwrap.dedent(block).partition('terraform -chdir="$TF_DIR" init')
    assert init, "the action no longer ends with terraform init"
    return head


def declared(environment: str) -> dict[str, bool]:
    """Variable name -> whether it is required (has no default)."""
    path = ROOT / "infra" / "terraform" / "envs" / environment / "variables.tf"
    with path.open() as handle:
        blocks = load_hcl(handle)["variable"]
    return {name: "default" not in body for block in blocks for name, body in block.items()}


def write_variables(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", variables_script()],
        env={**os.environ, **env, "TF_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_variable_written_is_declared_and_typed(environment: str, tmp_path: Path) -> None:
    result = write_variables(tmp_path, FULL)

    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "ci.auto.tfvars.json").read_text())
    assert set(written) <= set(declared(environment))
    assert written["allowed_account_ids"] == ["123456789012"]
    assert written["create_github_oidc_provider"] is False
    assert written["enable_auth"] is True
    assert written["image_tag"] == SHA


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_minimal_configuration_sets_every_required_variable(
    environment: str, tmp_path: Path
) -> None:
    result = write_variables(tmp_path, MINIMAL)

    assert result.returncode == 0, result.stderr
    written = json.loads((tmp_path / "ci.auto.tfvars.json").read_text())
    required = {name for name, needed in declared(environment).items() if needed}
    assert required <= set(written)
    # Unset optional variables stay out, so Terraform's null defaults apply.
    assert "" not in written.values()
    assert "route53_zone_id" not in written


def test_a_missing_required_variable_stops_with_its_name(tmp_path: Path) -> None:
    result = write_variables(tmp_path, {**MINIMAL, "DOMAIN_NAME": ""})

    assert result.returncode == 1
    assert "::error::DOMAIN_NAME is empty" in result.stdout
    assert not (tmp_path / "ci.auto.tfvars.json").exists()
