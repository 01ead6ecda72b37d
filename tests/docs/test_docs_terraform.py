"""The architecture diagram and the Terraform describe the same system."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hcl2.api import load as load_hcl

# (resource type, resource name, file, attributes), as the terraform_resources fixture gives them
Resource = tuple[str, str, str, dict[str, Any]]

DOCS = Path(__file__).resolve().parents[2] / "docs"
RUNBOOK = DOCS / "runbook.md"
SLO = DOCS / "slo.md"
COST = DOCS / "cost.md"
TERRAFORM_ENVS = DOCS.parent / "infra" / "terraform" / "envs"

# The pictures of the deployed system; delivery-flow draws pipeline steps, not resources.
SYSTEM_PICTURES = ("request-path", "control-plane", "observability", "security")
# Nodes that Terraform does not create: the clients and GitHub's own runners.
OUTSIDE_THE_ACCOUNT = {"clients", "github_actions"}

# Resource types that exist in the Terraform but are not drawn, each with the reason. Every other
# resource type must be claimed by a node of one of the system pictures.
NOT_DRAWN = {
    "aws_acm_certificate_validation": "a wait for DNS validation, part of the ACM certificate",
    "aws_default_security_group": "taken over only to strip its rules",
    "aws_eks_pod_identity_association": (
        "the EKS wiring (modules/eks-workload) is the other deployment; docs/architecture.md "
        "compares it with the ECS one drawn"
    ),
    "aws_kms_alias": "a name for the KMS key",
    "aws_route": "routing detail of the VPC",
    "aws_route_table": "routing detail of the VPC",
    "aws_route_table_association": "routing detail of the VPC",
    "aws_s3_bucket_lifecycle_configuration": "settings of the log bucket",
    "aws_s3_bucket_ownership_controls": "settings of the log bucket",
    "aws_s3_bucket_policy": "settings of the log bucket",
    "aws_s3_bucket_public_access_block": "settings of the log bucket",
    "aws_s3_bucket_server_side_encryption_configuration": "settings of the log bucket",
    "aws_s3_bucket_versioning": "settings of the log bucket",
    "aws_security_group": "firewall detail; the picture shows who talks to whom",
    "aws_subnet": "drawn as the subnet groups, not as a node",
    "aws_vpc": "drawn as the VPC group, not as a node",
    "aws_vpc_security_group_egress_rule": "firewall detail",
    "aws_vpc_security_group_ingress_rule": "firewall detail",
    "aws_wafv2_web_acl_logging_configuration": "where the WAF drawn writes its logs",
    "terraform_data": "the test rule's key, a random value kept in the state (the rule is drawn)",
}


def terraform_types(resources: list[Resource]) -> set[str]:
    return {rtype for rtype, _, _, _ in resources}


@pytest.mark.parametrize("picture", SYSTEM_PICTURES)
def test_every_drawn_component_exists_in_terraform(
    picture: str,
    terraform_resources: list[Resource],
    diagram_components: dict[str, dict[str, list[str]]],
) -> None:
    built = terraform_types(terraform_resources)
    missing = {
        node: sorted(set(types) - built)
        for node, types in diagram_components[picture].items()
        if set(types) - built
    }
    assert missing == {}, f"drawn in docs/architecture.py ({picture}) but not in infra/terraform"


@pytest.mark.parametrize("picture", SYSTEM_PICTURES)
def test_only_outside_components_have_no_terraform(
    picture: str, diagram_components: dict[str, dict[str, list[str]]]
) -> None:
    nodes = diagram_components[picture]
    unbacked = {node for node, types in nodes.items() if not types}
    assert unbacked <= OUTSIDE_THE_ACCOUNT
    assert len(nodes) > len(unbacked), f"{picture} draws nothing the Terraform creates"


def test_every_major_terraform_resource_is_drawn(
    terraform_resources: list[Resource], diagram_components: dict[str, dict[str, list[str]]]
) -> None:
    drawn = {
        t
        for picture in SYSTEM_PICTURES
        for types in diagram_components[picture].values()
        for t in types
    }
    undrawn = {
        f"{rtype}.{name} ({path})"
        for rtype, name, path, _ in terraform_resources
        if rtype not in drawn and rtype not in NOT_DRAWN
    }
    assert undrawn == set(), "in infra/terraform but neither drawn nor listed in NOT_DRAWN"


def test_resources_left_out_of_the_picture_still_exist(
    terraform_resources: list[Resource],
) -> None:
    stale = set(NOT_DRAWN) - terraform_types(terraform_resources)
    assert stale == set(), "NOT_DRAWN names resource types the Terraform no longer has"


def _for_each_keys(path: str, body: dict[str, Any]) -> list[str | None]:
    """The keys a resource is repeated for, when its for_each names a literal local map; otherwise
    one unexpanded name (each.key becomes <name> like every interpolation)."""
    match = re.fullmatch(r"\$\{local\.(\w+)\}", str(body.get("for_each", [""])[0]))
    if match is None:
        return [None]
    with (DOCS.parent / path).open() as handle:
        parsed = load_hcl(handle)
    (mapping,) = [b[match.group(1)] for b in parsed.get("locals", []) if match.group(1) in b]
    if isinstance(mapping, list) and len(mapping) == 1:
        (mapping,) = mapping
    if not isinstance(mapping, dict):
        return [None]
    return [str(key).strip('"') for key in mapping]


def alarm_names(resources: list[Resource]) -> list[str]:
    """Alarm names as the documents write them: each.key expanded, every other interpolation
    becomes <name>."""
    names = []
    for rtype, _, path, body in resources:
        if rtype not in {"aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm"}:
            continue
        value = body["alarm_name"]
        raw = str(value[0] if isinstance(value, list) else value).strip('"')
        for key in _for_each_keys(path, body):
            named = raw if key is None else raw.replace("${each.key}", key)
            names.append(re.sub(r"\$\{[^}]*\}", "<name>", named))
    return sorted(names)


def test_terraform_defines_alarms(terraform_resources: list[Resource]) -> None:
    assert len(alarm_names(terraform_resources)) >= 1


def test_every_alarm_has_a_runbook_section(terraform_resources: list[Resource]) -> None:
    headings = [line for line in RUNBOOK.read_text().splitlines() if line.startswith("#")]
    missing = [
        alarm
        for alarm in alarm_names(terraform_resources)
        if not any(f"`{alarm}`" in heading for heading in headings)
    ]
    assert missing == [], "alarms without a section in docs/runbook.md"


def test_every_alarm_is_mapped_to_the_slos(terraform_resources: list[Resource]) -> None:
    slo = SLO.read_text()
    missing = [alarm for alarm in alarm_names(terraform_resources) if f"`{alarm}`" not in slo]
    assert missing == [], "alarms docs/slo.md does not map to an SLO"


def stack_sizes(environment: str) -> dict[str, Any]:
    """The arguments infra/terraform/envs/<environment> gives the stack module."""
    with (TERRAFORM_ENVS / environment / "main.tf").open() as handle:
        modules = load_hcl(handle)["module"]
    stack = next(block["stack"] for block in modules if "stack" in block)
    arguments = {k: v[0] if isinstance(v, list) else v for k, v in stack.items()}
    # Sizes come in the stack's network and service groups.
    return {**arguments, **arguments["network"], **arguments["service"]}


# The documents write ranges with an en dash.
DASH = "\N{EN DASH}"


def size(cpu: int, memory: int) -> str:
    return f"{cpu / 1024:g} vCPU, {memory / 1024:g} GiB"


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_runbook_states_the_sizes_terraform_sets(environment: str) -> None:
    s = stack_sizes(environment)
    row = (
        f"| {environment} | `hello-birthday-{environment}` | {s['az_count']} "
        f"| {s['min_capacity']}{DASH}{s['max_capacity']} | {size(s['cpu'], s['memory'])} |"
    )
    assert row in RUNBOOK.read_text()


def test_cost_assumes_the_sizes_terraform_sets() -> None:
    staging, prod = stack_sizes("staging"), stack_sizes("prod")
    cost = COST.read_text()
    assert f"| Availability Zones | {staging['az_count']} | {prod['az_count']} |" in cost
    staging_size = size(staging["cpu"], staging["memory"])
    prod_size = size(prod["cpu"], prod["memory"])
    assert f"| task size (Fargate, Linux/ARM64) | {staging_size} | {prod_size} |" in cost
    staging_tasks = f"{staging['min_capacity']}{DASH}{staging['max_capacity']}"
    prod_tasks = f"{prod['min_capacity']}{DASH}{prod['max_capacity']}"
    assert f"| tasks (min{DASH}max) | {staging_tasks} | {prod_tasks} |" in cost
