"""ECS service, task definition and roles: what hand-written ECS configurations get wrong."""

from __future__ import annotations

from typing import Any

import pytest

from hello_birthday import server
from tests.infra.terraform import (
    MODULES,
    blocks_of,
    default,
    local,
    module_call,
    one_block,
    resource,
    resources_of_type,
    value,
)

ECS = MODULES / "ecs-service"
STACK = MODULES / "stack"
CONTRACT_HEALTHCHECK = ["CMD", "/app/.venv/bin/hello-birthday", "healthcheck"]


@pytest.fixture
def service() -> dict[str, Any]:
    return resource(ECS, "aws_ecs_service", "this")


@pytest.fixture
def container() -> dict[str, Any]:
    definition: dict[str, Any] = local(ECS, "container_definition")
    return definition


def statements(data_name: str) -> list[dict[str, Any]]:
    return blocks_of(resource(ECS, "aws_iam_policy_document", data_name, kind="data"), "statement")


def test_rolling_deploy_never_drops_below_current_capacity(service: dict[str, Any]) -> None:
    assert value(service, "deployment_minimum_healthy_percent") == 100
    assert value(service, "deployment_maximum_percent") == 200
    assert value(one_block(service, "deployment_controller"), "type") == "ECS"


def test_circuit_breaker_rolls_back(service: dict[str, Any]) -> None:
    breaker = one_block(service, "deployment_circuit_breaker")
    assert value(breaker, "enable") is True
    assert value(breaker, "rollback") is True


def test_alarm_based_rollback_is_wired_to_the_error_and_latency_alarms(
    service: dict[str, Any],
) -> None:
    (alarms,) = [d["alarms"] for d in blocks_of(service, "dynamic") if "alarms" in d]
    content = one_block(alarms, "content")
    assert value(content, "rollback") is True
    wiring = value(module_call(STACK, "service"), "deployment_alarm_names")
    assert "module.observability.deployment_alarm_names" in wiring
    assert default(STACK, "alarms.enable_deployment_alarms") is True


def test_health_check_grace_period_is_set(service: dict[str, Any]) -> None:
    assert value(service, "health_check_grace_period_seconds") == (
        "${var.load_balancer.health_check_grace_period_seconds}"
    )
    assert default(ECS, "load_balancer.health_check_grace_period_seconds") > 0


def test_tasks_are_private_and_spread_over_azs(service: dict[str, Any]) -> None:
    network = one_block(service, "network_configuration")
    assert value(network, "assign_public_ip") is False
    assert value(network, "subnets") == "${var.network.private_subnet_ids}"
    assert value(service, "availability_zone_rebalancing") == "ENABLED"
    assert value(service, "launch_type") == "FARGATE"
    wiring = module_call(STACK, "service")
    assert value(wiring, "network")["private_subnet_ids"] == "${module.network.private_subnet_ids}"


def test_task_definition_runs_on_graviton() -> None:
    task = resource(ECS, "aws_ecs_task_definition", "this")
    platform = one_block(task, "runtime_platform")
    assert value(platform, "cpu_architecture") == "ARM64"
    assert value(platform, "operating_system_family") == "LINUX"
    assert value(task, "requires_compatibilities") == ["FARGATE"]
    assert value(task, "network_mode") == "awsvpc"


def test_container_definitions_come_from_the_checked_locals() -> None:
    task = resource(ECS, "aws_ecs_task_definition", "this")
    assert value(task, "container_definitions") == (
        "${jsonencode(['${local.container_definition}', '${local.collector_container}'])}"
    )


def test_container_health_check_is_an_exec_array(container: dict[str, Any]) -> None:
    command = container["healthCheck"]["command"]
    assert isinstance(command, list)
    assert all(isinstance(part, str) and part for part in command)
    assert command[0] in {"CMD", "CMD-SHELL"}
    if command[0] == "CMD-SHELL":
        assert len(command) == 2, "CMD-SHELL takes exactly one shell string"
    else:
        assert len(command) >= 2, "CMD needs the executable after it"
    assert command == CONTRACT_HEALTHCHECK


def test_container_is_read_only_and_unprivileged(container: dict[str, Any]) -> None:
    assert container["readonlyRootFilesystem"] is True
    assert container["user"] == "10001:10001"
    assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert "privileged" not in container


def test_tmp_is_a_writable_task_volume(container: dict[str, Any]) -> None:
    task = resource(ECS, "aws_ecs_task_definition", "this")
    volume_names = {value(v, "name") for v in blocks_of(task, "volume")}
    tmp_mounts = [m for m in container["mountPoints"] if m["containerPath"] == "/tmp"]  # noqa: S108 (a path in the container)
    assert len(tmp_mounts) == 1
    assert tmp_mounts[0]["readOnly"] is False
    assert tmp_mounts[0]["sourceVolume"] in volume_names


def test_stop_timeout_covers_drain_and_shutdown(container: dict[str, Any]) -> None:
    assert container["stopTimeout"] == "${var.shutdown.stop_timeout_seconds}"
    drain = default(ECS, "shutdown.drain_seconds")
    shutdown = default(ECS, "shutdown.shutdown_timeout_seconds")
    stop = default(ECS, "shutdown.stop_timeout_seconds")
    assert (drain, shutdown) == (5, 20), "the contract's HELLO_DRAIN_SECONDS/SHUTDOWN_TIMEOUT"
    # The supervisor kills the server itself drain + shutdown + its kill margin after SIGTERM;
    # SIGKILL from ECS must come after that, with room for the supervisor to exit and log.
    supervisor_deadline = drain + shutdown + server._KILL_MARGIN_SECONDS
    assert stop >= supervisor_deadline + 5
    assert default(MODULES / "alb", "deregistration_delay") >= shutdown


def test_container_environment_matches_the_contract() -> None:
    environment = local(ECS, "environment")
    for expected in (
        "'HELLO_HOST': '0.0.0.0'",
        "'HELLO_STORAGE': 'dynamodb'",
        "'HELLO_DYNAMODB_TABLE': '${var.table.name}'",
        "'AWS_REGION': '${local.region}'",
        "'HELLO_WORKERS': '${tostring(max(1,floor(var.task.cpu / 1024)))}'",
        "'HELLO_DRAIN_SECONDS': '${tostring(var.shutdown.drain_seconds)}'",
        "'HELLO_SHUTDOWN_TIMEOUT': '${tostring(var.shutdown.shutdown_timeout_seconds)}'",
    ):
        assert expected in environment


def test_logs_go_to_the_encrypted_group_with_retention(container: dict[str, Any]) -> None:
    logging = container["logConfiguration"]
    assert logging["logDriver"] == "awslogs"
    assert logging["options"]["awslogs-group"] == "${aws_cloudwatch_log_group.this.name}"
    group = resource(ECS, "aws_cloudwatch_log_group", "this")
    assert value(group, "kms_key_id") == "${var.logs.kms_key_arn}"
    assert value(group, "retention_in_days") == "${var.logs.retention_days}"


def test_image_is_the_validated_tag(container: dict[str, Any]) -> None:
    assert container["image"] == "${var.image.repository_url}:${var.image.tag}"


def by_sid(data_name: str, sid: str) -> dict[str, Any]:
    (found,) = [s for s in statements(data_name) if value(s, "sid") == sid]
    return found


def test_task_role_may_only_get_put_and_describe_its_table() -> None:
    statement = by_sid("task", "ReadWriteTheTable")
    assert value(statement, "actions") == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DescribeTable",
    ]
    assert value(statement, "resources") == ["${var.table.arn}"]
    assert "effect" not in statement or value(statement, "effect") == "Allow"
    wiring = module_call(STACK, "service")
    assert value(wiring, "table")["arn"] == "${module.dynamodb.table_arn}"


def test_task_role_may_remote_write_to_the_stacks_workspace_only() -> None:
    statement = by_sid("task", "RemoteWriteTheOneWorkspace")
    assert value(statement, "actions") == ["aps:RemoteWrite"]
    assert value(statement, "resources") == ["${var.collector.workspace_arn}"]
    assert "effect" not in statement or value(statement, "effect") == "Allow"
    assert "condition" not in statement
    collector = value(module_call(STACK, "service"), "collector")
    assert collector["workspace_arn"] == "${module.prometheus.workspace_arn}"
    # The table and the workspace, nothing else.
    assert sorted(value(s, "sid") for s in statements("task")) == [
        "ReadWriteTheTable",
        "RemoteWriteTheOneWorkspace",
    ]
    assert "dynamic" not in resource(ECS, "aws_iam_policy_document", "task", kind="data")


def test_task_role_has_no_other_permissions() -> None:
    task_policies = [
        b
        for b in resources_of_type(ECS, "aws_iam_role_policy")
        if value(b.body, "role") == "${aws_iam_role.task.id}"
    ]
    assert [b.labels[1] for b in task_policies] == ["task"]
    assert value(task_policies[0].body, "policy") == "${data.aws_iam_policy_document.task.json}"
    assert resources_of_type(ECS, "aws_iam_role_policy_attachment") == []
    assert resources_of_type(ECS, "aws_iam_role_policies_exclusive") == []


def test_execution_role_only_pulls_this_image_and_writes_this_log_group() -> None:
    granted = {
        (tuple(value(s, "actions")), tuple(value(s, "resources"))) for s in statements("execution")
    }
    assert granted == {
        (("ecr:GetAuthorizationToken",), ("*",)),
        (
            ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
            ("${var.image.repository_arn}",),
        ),
        (
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            ("${aws_cloudwatch_log_group.this.arn}:*",),
        ),
        # The collector's cache repository: its first pull creates it and imports the image.
        (
            (
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchImportUpstreamImage",
                "ecr:CreateRepository",
            ),
            ("${var.collector.repository_arn}",),
        ),
    }
    collector = value(module_call(STACK, "service"), "collector")
    assert collector["repository_arn"] == (
        "${module.ecr.pull_through_cache_arn_prefix}/${local.collector_upstream_repository}"
    )


def test_roles_are_assumable_only_by_ecs_tasks_of_this_account() -> None:
    (statement,) = statements("assume_ecs_tasks")
    principal = one_block(statement, "principals")
    assert value(principal, "identifiers") == ["ecs-tasks.amazonaws.com"]
    variables = {value(c, "variable") for c in blocks_of(statement, "condition")}
    assert variables == {"aws:SourceAccount", "aws:SourceArn"}


def test_cluster_has_container_insights() -> None:
    cluster = resource(ECS, "aws_ecs_cluster", "this")
    setting = one_block(cluster, "setting")
    assert value(setting, "name") == "containerInsights"
    assert default(ECS, "container_insights") in {"enabled", "enhanced"}


def test_autoscaling_tracks_cpu_and_requests_per_target() -> None:
    metrics = {}
    for block in resources_of_type(ECS, "aws_appautoscaling_policy"):
        assert value(block.body, "policy_type") == "TargetTrackingScaling"
        config = one_block(block.body, "target_tracking_scaling_policy_configuration")
        spec = one_block(config, "predefined_metric_specification")
        metrics[value(spec, "predefined_metric_type")] = spec
    assert set(metrics) == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    assert value(metrics["ALBRequestCountPerTarget"], "resource_label") == (
        "${var.load_balancer.resource_label}"
    )
    target = resource(ECS, "aws_appautoscaling_target", "this")
    assert value(target, "min_capacity") == "${var.scaling.min_capacity}"
    assert value(target, "max_capacity") == "${var.scaling.max_capacity}"


def test_autoscaling_owns_desired_count_after_creation(service: dict[str, Any]) -> None:
    lifecycle = one_block(service, "lifecycle")
    assert "desired_count" in str(value(lifecycle, "ignore_changes"))


def test_task_security_group_only_talks_to_the_alb_and_aws_endpoints() -> None:
    ingress = resources_of_type(ECS, "aws_vpc_security_group_ingress_rule")
    assert [value(b.body, "referenced_security_group_id") for b in ingress] == [
        "${var.load_balancer.security_group_id}"
    ]
    task_egress = [
        b
        for b in resources_of_type(ECS, "aws_vpc_security_group_egress_rule")
        if value(b.body, "security_group_id") == "${aws_security_group.task.id}"
    ]
    assert task_egress
    for rule in task_egress:
        assert value(rule.body, "from_port") == value(rule.body, "to_port") == 443
        assert "cidr_ipv4" not in rule.body
        assert "cidr_ipv6" not in rule.body
