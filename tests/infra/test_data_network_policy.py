"""Data at rest, the network path and observability."""

from __future__ import annotations

from hello_birthday.storage.dynamodb import KEY_ATTRIBUTE
from tests.infra.terraform import (
    MODULES,
    TERRAFORM,
    blocks,
    blocks_of,
    default,
    module_call,
    one_block,
    resource,
    resources_of_type,
    value,
)

DYNAMODB = MODULES / "dynamodb"
NETWORK = MODULES / "network"
OBSERVABILITY = MODULES / "observability"
STACK = MODULES / "stack"


def test_table_key_matches_the_service() -> None:
    table = resource(DYNAMODB, "aws_dynamodb_table", "this")
    assert value(table, "hash_key") == KEY_ATTRIBUTE
    assert "range_key" not in table
    attributes = {(value(a, "name"), value(a, "type")) for a in blocks_of(table, "attribute")}
    assert attributes == {(KEY_ATTRIBUTE, "S")}
    assert value(table, "billing_mode") == "PAY_PER_REQUEST"


def test_table_has_pitr_and_customer_managed_encryption() -> None:
    table = resource(DYNAMODB, "aws_dynamodb_table", "this")
    assert value(one_block(table, "point_in_time_recovery"), "enabled") is True
    encryption = one_block(table, "server_side_encryption")
    assert value(encryption, "enabled") is True
    assert value(encryption, "kms_key_arn") == "${var.kms_key_arn}"
    assert value(module_call(STACK, "dynamodb"), "kms_key_arn") == "${module.kms.key_arn}"


def test_table_deletion_protection_follows_the_input_and_is_on_by_default() -> None:
    table = resource(DYNAMODB, "aws_dynamodb_table", "this")
    assert value(table, "deletion_protection_enabled") == "${var.deletion_protection}"
    assert default(DYNAMODB, "deletion_protection") is True
    assert value(module_call(STACK, "dynamodb"), "deletion_protection") == (
        "${var.protection.deletion_protection}"
    )


def test_kms_key_rotates() -> None:
    key = resource(MODULES / "kms", "aws_kms_key", "this")
    assert value(key, "enable_key_rotation") is True
    assert value(key, "policy") == "${data.aws_iam_policy_document.key.json}"


def test_registry_is_immutable_scanned_encrypted_and_pruned() -> None:
    ecr = MODULES / "ecr"
    repository = resource(ecr, "aws_ecr_repository", "this")
    assert value(repository, "image_tag_mutability") == "IMMUTABLE"
    assert value(one_block(repository, "image_scanning_configuration"), "scan_on_push") is True
    assert value(one_block(repository, "encryption_configuration"), "encryption_type") == "KMS"
    policy = resource(ecr, "aws_ecr_lifecycle_policy", "this")
    assert value(policy, "repository") == "${aws_ecr_repository.this.name}"


def test_tasks_reach_dynamodb_through_a_gateway_endpoint_and_have_no_internet_route() -> None:
    gateways = resource(NETWORK, "aws_vpc_endpoint", "gateway")
    assert "dynamodb" in value(gateways, "for_each")
    assert value(gateways, "vpc_endpoint_type") == "Gateway"
    assert value(gateways, "route_table_ids") == ["${aws_route_table.private.id}"]
    routes = resources_of_type(NETWORK, "aws_route")
    assert [value(r.body, "route_table_id") for r in routes] == ["${aws_route_table.public.id}"]
    assert resources_of_type(NETWORK, "aws_nat_gateway") == []
    for service in ("ecr.api", "ecr.dkr", "logs"):
        assert service in default(NETWORK, "interface_endpoint_services")


def test_az_count_is_validated_to_two_or_three() -> None:
    (variable,) = [b.body for b in blocks(NETWORK, "variable") if b.labels == ("az_count",)]
    (validation,) = blocks_of(variable, "validation")
    assert value(validation, "condition") == "${var.az_count >= 2 && var.az_count <= 3}"


def test_security_groups_have_no_inline_rules() -> None:
    for directory in sorted({p.parent for p in TERRAFORM.rglob("*.tf")}):
        assert resources_of_type(directory, "aws_security_group_rule") == [], directory
        for group in resources_of_type(directory, "aws_security_group"):
            assert "ingress" not in group.body, group.labels
            assert "egress" not in group.body, group.labels


def test_alarms_cover_errors_latency_health_capacity_and_dynamodb() -> None:
    alarms = {
        b.labels[1]: b.body for b in resources_of_type(OBSERVABILITY, "aws_cloudwatch_metric_alarm")
    }
    assert set(alarms) == {
        "http_5xx_rate",
        "p99_latency",
        "unhealthy_hosts",
        "no_healthy_targets",
        "running_below_desired",
        "dynamodb_throttles",
        "dynamodb_system_errors",
        "deployment_5xx_rate",
        "deployment_p99_latency",
        "availability_burn",
        "latency_burn",
    }
    rollout_guards = {"http_5xx_rate", "p99_latency"}
    for name, alarm in alarms.items():
        if name in rollout_guards:
            # They roll a deployment back; the burn-rate alarms page (test_burn_rate_alarms.py).
            assert "alarm_actions" not in alarm, name
        elif name not in {"availability_burn", "latency_burn"}:
            assert value(alarm, "alarm_actions") == "${local.alarm_actions}"
    assert value(alarms["p99_latency"], "extended_statistic") == "p99"
    topic = resource(OBSERVABILITY, "aws_sns_topic", "alarms")
    assert value(topic, "kms_master_key_id") == "${var.kms_key_arn}"
    assert resources_of_type(OBSERVABILITY, "aws_cloudwatch_dashboard")
