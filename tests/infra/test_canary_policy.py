"""Canary deployments on ECS: the strategy, the hook, the roles, the test rule and the alarms.

What a hand-written canary gets wrong without anyone noticing until a bad release: the smoke
test at a stage where production already has traffic, an infrastructure role as wide as the
managed policy, a test rule the public reaches without the key, alarms on one target group
while production has moved to the other, thresholds unrelated to the SLO, and a pipeline that
reports "stable" after ECS rolled its release back.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.terraform import (
    MODULES,
    ROOT,
    TERRAFORM,
    blocks,
    blocks_of,
    default,
    local,
    module_call,
    one_block,
    resource,
    resources_of_type,
    value,
    variable,
)

ECS = MODULES / "ecs-service"
ALB = MODULES / "alb"
HOOK = MODULES / "smoke-hook"
OBSERVABILITY = MODULES / "observability"
STACK = MODULES / "stack"
OIDC = MODULES / "github-oidc"
DEPLOY = ROOT / ".github" / "workflows" / "deploy.yml"
SLO = ROOT / "docs" / "slo.md"


def _statements(directory: Path, document: str) -> list[dict[str, Any]]:
    body = resource(directory, "aws_iam_policy_document", document, kind="data")
    return blocks_of(body, "statement")


def _env(name: str) -> dict[str, Any]:
    deployment: dict[str, Any] = value(
        module_call(TERRAFORM / "envs" / name, "stack"), "deployment"
    )
    return deployment


# --- the strategy and its validation -------------------------------------------------------


def _optional_defaults(directory: Path, name: str) -> dict[str, Any]:
    """The optional(type, default) defaults of an object variable, from its type expression."""
    text = str(value(variable(directory, name), "type"))
    found: dict[str, Any] = {}
    for key, literal in re.findall(r"'(\w+)': '\$\{optional\(\w+,([^)]*)\)\}'", text):
        found[key] = ast.literal_eval(literal)
    return found


def _holds(condition: str, deployment: dict[str, Any], canary: object) -> bool:
    """One validation condition of var.deployment, evaluated as Terraform would.

    The conditions use a small part of the language (comparisons, && ||, contains, floor,
    alltrue over a for expression); this rewrites exactly that part into Python.
    """
    python = condition.removeprefix("${").removesuffix("}")
    python = re.sub(r"'?\$\{([^}]*)\}'?", r"\1", python)
    python = re.sub(r"contains\((\[[^\]]*\]),\s*([^)]*)\)", r"(\2 in \1)", python)
    python = re.sub(
        r"alltrue\(\[for (\w+) in (\[[^\]]*\]) : (.*)\]\)", r"all(\3 for \1 in \2)", python
    )
    python = re.sub(r"var\.deployment\.(\w+)", r'deployment["\1"]', python)
    python = python.replace("var.canary", "canary").replace("&&", " and ").replace("||", " or ")
    # Globals, not locals: the generator expression of alltrue looks its names up there.
    scope = {"__builtins__": {}, "deployment": deployment, "canary": canary}
    scope |= {"floor": math.floor, "all": all}
    return bool(eval(python, scope))  # noqa: S307 - our own Terraform, rewritten above


WIRED = {"alternate_target_group_arn": "arn:tg"}


@pytest.mark.parametrize(
    ("override", "canary", "valid"),
    [
        ({}, WIRED, True),
        ({"strategy": "ROLLING"}, None, True),
        ({"strategy": "CANARY"}, None, False),
        ({"strategy": "BLUE_GREEN"}, WIRED, False),
        ({"strategy": "LINEAR"}, WIRED, False),
        ({"canary_percent": 0}, WIRED, False),
        ({"canary_percent": 100}, WIRED, False),
        ({"canary_percent": 0.5}, WIRED, True),
        ({"canary_bake_time_in_minutes": 1441}, WIRED, False),
        ({"bake_time_in_minutes": -1}, WIRED, False),
        ({"bake_time_in_minutes": 2.5}, WIRED, False),
        ({"bake_time_in_minutes": 0}, WIRED, True),
        ({"hook_timeout_in_minutes": 0}, WIRED, False),
    ],
)
def test_the_deployment_input_is_validated(
    override: dict[str, Any], canary: object, valid: bool
) -> None:
    deployment = _optional_defaults(ECS, "deployment") | override
    conditions = [
        str(value(v, "condition")) for v in blocks_of(variable(ECS, "deployment"), "validation")
    ]
    assert all(_holds(c, deployment, canary) for c in conditions) is valid


def test_canary_is_the_default_and_both_environments_use_it() -> None:
    assert _optional_defaults(ECS, "deployment")["strategy"] == "CANARY"
    for env in ("staging", "prod"):
        assert _env(env)["strategy"] == "CANARY", env
    service = resource(ECS, "aws_ecs_service", "this")
    configuration = one_block(service, "deployment_configuration")
    assert value(configuration, "strategy") == "${var.deployment.strategy}"
    assert local(ECS, "canary") == '${var.deployment.strategy == "CANARY"}'
    assert value(module_call(STACK, "service"), "deployment") == "${var.deployment}"


def test_staging_bakes_faster_than_prod_and_prod_bakes_long_enough_for_its_alarms() -> None:
    staging, prod = _env("staging"), _env("prod")
    assert staging["canary_bake_time_in_minutes"] < prod["canary_bake_time_in_minutes"]
    assert staging["bake_time_in_minutes"] < prod["bake_time_in_minutes"]
    assert prod["canary_percent"] <= 10, "prod's canary must be a small share"
    # A bad canary must be able to trip a deployment alarm during the canary bake: the alarm's
    # window plus CloudWatch's delivery delay (about 2 minutes) must fit in it.
    for name in ("deployment_5xx_rate", "deployment_p99_latency"):
        alarm = resource(OBSERVABILITY, "aws_cloudwatch_metric_alarm", name)
        window = value(alarm, "evaluation_periods")
        assert prod["canary_bake_time_in_minutes"] >= window + 2, name


def test_rolling_is_a_fallback_that_drops_every_canary_piece() -> None:
    service = resource(ECS, "aws_ecs_service", "this")
    configuration = one_block(service, "deployment_configuration")
    (hook,) = [
        d["lifecycle_hook"] for d in blocks_of(configuration, "dynamic") if "lifecycle_hook" in d
    ]
    (canary,) = [
        d["canary_configuration"]
        for d in blocks_of(configuration, "dynamic")
        if "canary_configuration" in d
    ]
    balancer = one_block(service, "load_balancer")
    (advanced,) = [
        d["advanced_configuration"]
        for d in blocks_of(balancer, "dynamic")
        if "advanced_configuration" in d
    ]
    for dynamic in (hook, canary, advanced):
        assert str(value(dynamic, "for_each")).startswith("${local.canary ?")
        assert str(value(dynamic, "for_each")).endswith(": []}")
    for role in ("load_balancers", "lifecycle_hooks"):
        assert value(resource(ECS, "aws_iam_role", role), "count") == "${local.canary ? 1 : 0}"
    # The circuit breaker covers tasks that never become healthy, whichever the strategy.
    breaker = one_block(service, "deployment_circuit_breaker")
    assert value(breaker, "rollback") is True


def test_terraform_leaves_the_swapped_target_groups_to_ecs() -> None:
    service = resource(ECS, "aws_ecs_service", "this")
    ignored = value(one_block(service, "lifecycle"), "ignore_changes")
    assert "${load_balancer}" in ignored
    for rule in ("production", "test"):
        body = resource(ALB, "aws_lb_listener_rule", rule)
        assert value(one_block(body, "lifecycle"), "ignore_changes") == ["${action}"], rule


# --- the smoke hook at the right stage -------------------------------------------------------


def test_the_smoke_hook_runs_after_test_traffic_and_before_production_traffic() -> None:
    service = resource(ECS, "aws_ecs_service", "this")
    configuration = one_block(service, "deployment_configuration")
    (hook,) = [
        d["lifecycle_hook"] for d in blocks_of(configuration, "dynamic") if "lifecycle_hook" in d
    ]
    content = one_block(hook, "content")
    assert value(content, "lifecycle_stages") == ["POST_TEST_TRAFFIC_SHIFT"]
    assert value(content, "hook_target_arn") == "${lifecycle_hook.value}"
    assert "var.canary.smoke_hook_function_arn" in str(value(hook, "for_each"))
    assert value(content, "role_arn") == "${aws_iam_role.lifecycle_hooks[0].arn}"
    timeout = one_block(content, "timeout_configuration")
    assert value(timeout, "action") == "ROLLBACK", "a hook that never answers must not let it in"
    wiring = value(module_call(STACK, "service"), "canary")
    assert wiring["smoke_hook_function_arn"] == "${module.smoke_hook.function_arn}"


def test_the_hook_function_runs_the_repository_handler_on_a_python_runtime() -> None:
    function = resource(HOOK, "aws_lambda_function", "this")
    module, _, name = str(value(function, "handler")).partition(".")
    source = ROOT / "scripts" / f"{module}.py"
    defined = {n.name for n in ast.parse(source.read_text()).body if isinstance(n, ast.FunctionDef)}
    assert name in defined
    assert str(value(function, "runtime")).startswith("python3.")
    assert value(function, "source_code_hash") == "${filebase64sha256(var.package_path)}"
    build = (ROOT / "scripts" / "build-smoke-hook").read_text()
    assert f"{module}.py" in build, "the package must contain the handler"


# --- roles ------------------------------------------------------------------------------------


def _trusts_only_ecs_of_this_account(document: str) -> None:
    (statement,) = _statements(ECS, document)
    principal = one_block(statement, "principals")
    assert value(principal, "identifiers") == ["ecs.amazonaws.com"]
    condition = one_block(statement, "condition")
    assert value(condition, "variable") == "aws:SourceAccount"


def test_the_load_balancer_role_touches_only_this_services_pieces() -> None:
    _trusts_only_ecs_of_this_account("assume_ecs")
    role = resource(ECS, "aws_iam_role", "load_balancers")
    assert value(role, "assume_role_policy") == "${data.aws_iam_policy_document.assume_ecs.json}"
    ours = {
        "${var.load_balancer.target_group_arn}",
        "${var.canary.alternate_target_group_arn}",
        "${var.canary.production_listener_rule_arn}",
        "${var.canary.test_listener_rule_arn}",
        "${var.canary.listener_arn}",
    }
    writes: set[str] = set()
    for statement in _statements(ECS, "load_balancers"):
        actions, resources = value(statement, "actions"), value(statement, "resources")
        if resources == ["*"]:
            assert all(a.startswith("elasticloadbalancing:Describe") for a in actions), actions
            continue
        assert set(resources) <= ours, resources
        writes |= set(actions)
    assert writes == {
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:ModifyListener",
    }
    # Not the managed policy, which may change any load balancer in the account.
    assert resources_of_type(ECS, "aws_iam_role_policy_attachment") == []


def test_the_hook_role_may_invoke_the_smoke_hook_and_nothing_else() -> None:
    role = resource(ECS, "aws_iam_role", "lifecycle_hooks")
    assert value(role, "assume_role_policy") == "${data.aws_iam_policy_document.assume_ecs.json}"
    (statement,) = _statements(ECS, "lifecycle_hooks")
    assert value(statement, "actions") == ["lambda:InvokeFunction"]
    assert value(statement, "resources") == ["${var.canary.smoke_hook_function_arn}"]


def test_the_smoke_hook_writes_its_own_encrypted_logs_and_nothing_more() -> None:
    (statement,) = _statements(HOOK, "this")
    assert sorted(value(statement, "actions")) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert value(statement, "resources") == ["${aws_cloudwatch_log_group.this.arn}:*"]
    (trust,) = _statements(HOOK, "assume_lambda")
    assert value(one_block(trust, "principals"), "identifiers") == ["lambda.amazonaws.com"]
    assert resources_of_type(HOOK, "aws_iam_role_policy_attachment") == []
    assert len(resources_of_type(HOOK, "aws_iam_role_policy")) == 1
    group = resource(HOOK, "aws_cloudwatch_log_group", "this")
    assert value(group, "kms_key_id") == "${var.kms_key_arn}"
    function = resource(HOOK, "aws_lambda_function", "this")
    assert value(one_block(function, "logging_config"), "log_group") == (
        "${aws_cloudwatch_log_group.this.name}"
    )
    # The environment holds the test key.
    assert value(function, "kms_key_arn") == "${var.kms_key_arn}"
    # Outside the VPC by decision (docs/decisions): it tests the public endpoint.
    assert "vpc_config" not in function


def test_the_deploy_role_passes_the_deployment_roles_to_ecs_only() -> None:
    (document,) = [
        b.body for b in blocks(OIDC, "data") if b.labels == ("aws_iam_policy_document", "deploy")
    ]
    dynamics = {
        value(one_block(d["statement"], "content"), "sid"): one_block(d["statement"], "content")
        for d in blocks_of(document, "dynamic")
        if "statement" in d
    }
    passing = dynamics["HandDeploymentRolesToEcs"]
    assert value(passing, "actions") == ["iam:PassRole"]
    condition = one_block(passing, "condition")
    assert value(condition, "variable") == "iam:PassedToService"
    assert value(condition, "values") == ["ecs.amazonaws.com"]
    shipping = dynamics["ShipTheSmokeHookCode"]
    assert value(shipping, "actions") == ["lambda:UpdateFunctionCode"]
    wiring = module_call(STACK, "github_oidc")
    assert value(wiring, "ecs_deployment_role_arns") == "${module.service.deployment_role_arns}"
    assert value(wiring, "smoke_hook_function_arn") == "${module.smoke_hook.function_arn}"


# --- the test listener rule -------------------------------------------------------------------


def test_the_test_rule_needs_the_key_and_is_evaluated_before_production() -> None:
    test = resource(ALB, "aws_lb_listener_rule", "test")
    production = resource(ALB, "aws_lb_listener_rule", "production")
    assert value(test, "priority") < value(production, "priority")
    (condition,) = blocks_of(test, "condition")
    header = one_block(condition, "http_header")
    assert value(header, "values") == ["${terraform_data.test_traffic_key.output}"]
    key = resource(ALB, "terraform_data", "test_traffic_key")
    assert value(key, "input") == "${uuid()}"
    assert value(one_block(key, "lifecycle"), "ignore_changes") == ["${input}"]
    # Both rules on the public HTTPS listener, nothing else opened (test_edge_policy: 80, 443).
    for rule in (test, production):
        assert value(rule, "listener_arn") == "${aws_lb_listener.https.arn}"
    assert value(one_block(one_block(production, "condition"), "path_pattern"), "values") == ["/*"]
    # Nothing bypasses the rules: the listener itself forwards nowhere.
    listener = resource(ALB, "aws_lb_listener", "https")
    assert value(one_block(listener, "default_action"), "type") == "fixed-response"
    # Only the smoke hook gets the key.
    hook = module_call(STACK, "smoke_hook")
    assert value(hook, "test_traffic_key") == "${module.alb.test_traffic_header.value}"
    environment = value(
        one_block(resource(HOOK, "aws_lambda_function", "this"), "environment"), "variables"
    )
    assert environment["SMOKE_HEADER_VALUE"] == "${var.test_traffic_key}"


def test_two_target_groups_with_prefixes_so_a_replacement_can_come_first() -> None:
    groups = resource(ALB, "aws_lb_target_group", "this")
    assert "name" not in groups
    assert value(groups, "name_prefix") == "${each.value}"
    prefixes = local(ALB, "target_group_prefixes")
    assert set(prefixes) == {"primary", "alternate"}
    assert len(set(prefixes.values())) == 2
    assert all(len(p) <= 6 for p in prefixes.values()), "name_prefix allows 6 characters"
    assert value(one_block(groups, "lifecycle"), "create_before_destroy") is True


# --- deployment alarms ------------------------------------------------------------------------


def _slo_objective(pattern: str) -> float:
    (number,) = re.findall(pattern, SLO.read_text())
    return float(number)


def test_deployment_alarms_watch_each_target_group_at_the_slo() -> None:
    assert local(OBSERVABILITY, "target_group_keys") == "${toset(['primary', 'alternate'])}"
    availability = _slo_objective(r"\*\*(\d+\.\d+) %\*\* of valid requests are good") / 100
    latency = _slo_objective(r"answered by the targets within \*\*(\d+) ms\*\*") / 1000
    assert default(OBSERVABILITY, "availability_slo") == pytest.approx(availability)
    burn = _optional_defaults(OBSERVABILITY, "deployment_alarms")
    assert burn["p99_latency_seconds"] == pytest.approx(latency)
    # The error threshold: burn_rate times the budget, as a percentage (the hcl parser drops
    # parentheses, so the local is read from the source).
    source = (OBSERVABILITY / "main.tf").read_text()
    (formula,) = re.findall(r"deployment_error_percent = (.+)", source)
    assert formula == "100 * (1 - var.availability_slo) * var.deployment_alarms.burn_rate"
    assert 100 * (1 - availability) * burn["burn_rate"] == pytest.approx(0.6)
    for name in ("deployment_5xx_rate", "deployment_p99_latency"):
        alarm = resource(OBSERVABILITY, "aws_cloudwatch_metric_alarm", name)
        assert value(alarm, "for_each") == "${local.target_group_keys}"
        assert value(alarm, "datapoints_to_alarm") == 2
        (returned,) = [
            q for q in blocks_of(alarm, "metric_query") if q.get("return_data") == [True]
        ]
        assert "FILL(requests, 0) >= ${var.deployment_alarms.min_requests}" in str(
            value(returned, "expression")
        ), "a quiet minute must not decide a rollback"
        for query in blocks_of(alarm, "metric_query"):
            for metric in blocks_of(query, "metric"):
                assert value(metric, "dimensions") == "${local.target_groups[each.key]}"
    assert "deployment_error_percent" in str(
        value(
            resource(OBSERVABILITY, "aws_cloudwatch_metric_alarm", "deployment_5xx_rate"),
            "threshold",
        )
    )


def test_ecs_rolls_back_on_every_target_groups_alarms() -> None:
    (output,) = [
        b.body for b in blocks(OBSERVABILITY, "output") if b.labels == ("deployment_alarm_names",)
    ]
    names = str(value(output, "value"))
    for alarm in ("deployment_5xx_rate", "deployment_p99_latency", "http_5xx_rate", "p99_latency"):
        assert f"aws_cloudwatch_metric_alarm.{alarm}" in names, alarm
    wiring = module_call(STACK, "observability")
    assert value(wiring, "target_group_arn_suffixes") == "${module.alb.target_group_arn_suffixes}"


# --- the pipeline -----------------------------------------------------------------------------


def _deploy_steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = yaml.safe_load(DEPLOY.read_text())["jobs"]["deploy"]["steps"]
    return steps


def test_the_pipeline_waits_for_the_deployments_outcome_and_fails_on_a_rollback() -> None:
    steps = _deploy_steps()
    ids = [s.get("id") for s in steps]
    assert ids.index("outcome") == ids.index("apply") + 1
    outcome = steps[ids.index("outcome")]
    script = outcome["run"]
    assert "aws ecs list-service-deployments" in script
    assert "aws ecs describe-service-deployments" in script
    # The terminal statuses, each with a verdict; a rollback fails the run with its reason.
    rollback_case = script.split("ROLLBACK_SUCCESSFUL)", 1)[1].split(";;", 1)[0]
    assert "::error" in rollback_case
    assert "exit 1" in rollback_case
    assert "$reason" in rollback_case
    assert "SUCCESSFUL)" in script
    assert "ROLLBACK_FAILED)" in script
    # Long enough for prod's deployment: the hook's timeout, both bakes and ~10 min of tasks.
    prod = _env("prod")
    hook_timeout = _optional_defaults(ECS, "deployment")["hook_timeout_in_minutes"]
    needed = prod["canary_bake_time_in_minutes"] + prod["bake_time_in_minutes"] + hook_timeout
    assert outcome["timeout-minutes"] >= needed + 10
    # Terraform does not wait for it (the apply's timeout would cut the bakes short).
    assert value(module_call(STACK, "service"), "wait_for_steady_state") is False
    # After ECS rolled back by itself the pipeline's own rollback stays out of its way.
    (rollback,) = [s for s in steps if s.get("id") == "rollback"]
    assert "steps.outcome.outputs.rolled-back != 'true'" in rollback["if"]
