"""The per-environment configurations: state, sizing, auth switch, image tag, deploy trust."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.terraform import (
    ENVS,
    MODULES,
    TERRAFORM,
    argument,
    blocks,
    blocks_of,
    default,
    interpolation,
    local,
    module_call,
    one_block,
    resource,
    value,
    variable,
)

STACK = MODULES / "stack"
OIDC = MODULES / "github-oidc"
READ_ONLY = re.compile(r"[\w-]+:(Describe|Get|List)")
PROMISED_OUTPUTS = {
    "alb_dns_name",
    "ecr_repository_url",
    "ecs_cluster_name",
    "ecs_service_name",
    "dynamodb_table_name",
    "task_definition_family",
    "sns_topic_arn",
    "github_deploy_role_arn",
}


def env_dir(env: str) -> Path:
    return TERRAFORM / "envs" / env


def stack_call(env: str) -> dict[str, Any]:
    return module_call(env_dir(env), "stack")


def backend(env: str) -> dict[str, Any]:
    (settings,) = blocks(env_dir(env), "terraform")
    s3: dict[str, Any] = one_block(settings.body, "backend")["s3"]
    return s3


@pytest.mark.parametrize("env", ENVS)
def test_each_environment_has_its_own_locked_encrypted_state(env: str) -> None:
    config = backend(env)
    key = value(config, "key")
    assert key == f"hello-birthday/{env}/terraform.tfstate"
    assert key == local(env_dir(env), "state_key"), "the deploy role's state grant uses this key"
    assert value(config, "use_lockfile") is True
    assert value(config, "encrypt") is True
    assert "dynamodb_table" not in config, "S3 native locking replaces the DynamoDB lock table"
    assert "bucket" not in config, "the account-specific bucket comes from -backend-config"


def test_state_keys_differ() -> None:
    assert len({value(backend(env), "key") for env in ENVS}) == len(ENVS)


@pytest.mark.parametrize("env", ENVS)
def test_environments_are_thin_calls_of_the_stack(env: str) -> None:
    call = stack_call(env)
    assert value(call, "source") == "../../modules/stack"
    assert value(call, "environment") == "${local.environment}"
    assert local(env_dir(env), "environment") == env
    assert value(call, "image_tag") == "${var.image_tag}"
    assert [b.labels for b in blocks(env_dir(env), "resource")] == []


def test_both_environments_set_the_same_arguments() -> None:
    staging, prod = (set(stack_call(env)) for env in ENVS)
    assert staging == prod


@pytest.mark.parametrize("env", ENVS)
def test_environments_expose_the_promised_outputs(env: str) -> None:
    outputs = {b.labels[0] for b in blocks(env_dir(env), "output")}
    assert outputs >= PROMISED_OUTPUTS


def test_prod_runs_at_least_two_tasks_in_several_azs_and_is_protected() -> None:
    prod = stack_call("prod")
    assert argument(prod, "service.desired_count") >= 2
    assert argument(prod, "service.min_capacity") >= 2
    assert argument(prod, "service.max_capacity") > argument(prod, "service.min_capacity")
    assert argument(prod, "network.az_count") >= 2
    assert argument(prod, "protection.deletion_protection") is True
    assert argument(prod, "protection.force_destroy") is False


@pytest.mark.parametrize("env", ENVS)
def test_task_size_is_a_fargate_pair(env: str) -> None:
    call = stack_call(env)
    cpu, memory = argument(call, "service.cpu"), argument(call, "service.memory")
    valid = {
        256: range(512, 2049, 512),
        512: range(1024, 4097, 1024),
        1024: range(2048, 8193, 1024),
    }
    assert memory in valid[cpu]


def test_environment_name_is_validated() -> None:
    (validation,) = blocks_of(variable(STACK, "environment"), "validation")
    assert value(validation, "condition") == "${contains(['staging', 'prod'],var.environment)}"


def image_tag_pattern() -> re.Pattern[str]:
    (validation,) = blocks_of(variable(MODULES / "ecs-service", "image"), "validation")
    condition = value(validation, "condition")
    match = re.fullmatch(r'\$\{can\(regex\("(.+)",\s*var\.image\.tag\)\)\}', condition)
    assert match, condition
    return re.compile(match.group(1).replace("\\\\", "\\"))


@pytest.mark.parametrize(
    "tag",
    ["latest", "main", "v1.0.0", "0123abc", "0123456789ABCDEF0123456789abcdef01234567", ""],
)
def test_image_tag_rejects_mutable_and_partial_tags(tag: str) -> None:
    assert not image_tag_pattern().fullmatch(tag)


def test_image_tag_accepts_a_full_git_sha() -> None:
    assert image_tag_pattern().fullmatch("0123456789abcdef0123456789abcdef01234567")


@pytest.mark.parametrize("env", ENVS)
def test_auth_is_off_by_default(env: str) -> None:
    assert default(env_dir(env), "enable_auth") is False
    assert value(stack_call(env), "enable_auth") == "${var.enable_auth}"


def test_stack_only_builds_auth_when_enabled() -> None:
    assert default(STACK, "enable_auth") is False
    auth = module_call(STACK, "auth")
    assert value(auth, "count") == "${var.enable_auth ? 1 : 0}"
    # The parser drops the `...` expansion, so read the source line itself.
    (service,) = [b for b in blocks(STACK, "module") if b.labels == ("service",)]
    assert (
        'extra_environment = merge({ HELLO_AUTH = "none" }, '
        "[for auth in module.auth : auth.service_environment]...)"
    ) in service.source
    endpoints = local(STACK, "interface_endpoints")
    assert "var.enable_auth ? ['cognito-idp'] : []" in endpoints


def test_auth_module_hands_the_service_every_jwt_setting() -> None:
    (output,) = [
        b.body for b in blocks(MODULES / "auth", "output") if b.labels == ("service_environment",)
    ]
    rendered = str(value(output, "value"))
    for name in ("HELLO_AUTH", "HELLO_JWT_ISSUER", "HELLO_JWT_AUDIENCE", "HELLO_JWT_JWKS_URL"):
        assert f"'{name}'" in rendered
    assert "'HELLO_AUTH': 'jwt'" in rendered


def test_deploy_role_trusts_only_exact_subjects_of_one_repository() -> None:
    trust = resource(OIDC, "aws_iam_policy_document", "trust", kind="data")
    (statement,) = blocks_of(trust, "statement")
    assert value(statement, "actions") == ["sts:AssumeRoleWithWebIdentity"]
    conditions = {value(c, "variable"): c for c in blocks_of(statement, "condition")}
    assert set(conditions) == {"${local.oidc_host}:aud", "${local.oidc_host}:sub"}
    for condition in conditions.values():
        assert value(condition, "test") == "StringEquals", "StringLike would accept wildcards"
    assert value(conditions["${local.oidc_host}:aud"], "values") == ["sts.amazonaws.com"]
    assert interpolation(value(conditions["${local.oidc_host}:sub"], "values")) == "local.subjects"
    subjects = str(local(OIDC, "subjects"))
    assert "var.github_branches" in subjects
    assert ":ref:refs/heads/${pair[1]}" in subjects
    assert "var.github_environments" in subjects
    assert ":environment:${pair[1]}" in subjects
    assert "local.repository_subjects" in subjects
    assert "*" not in subjects
    # No branch subject by default: it would let an environment-less job skip the reviewers.
    assert default(OIDC, "github_branches") == []
    wiring = module_call(STACK, "github_oidc")
    assert value(wiring, "github_environments") == ["${var.environment}"]


def test_roles_trust_the_immutable_id_subject_form_of_the_repository() -> None:
    # GitHub's subject for repositories created or renamed since July 2026:
    # repo:<owner>@<owner id>/<name>@<repository id>:...
    forms = str(local(OIDC, "repository_subjects"))
    immutable = (
        "repo:${local.owner_and_name[0]}@${var.github_repository_ids.owner_id}"
        "/${local.owner_and_name[1]}@${var.github_repository_ids.repository_id}"
    )
    assert immutable in forms
    assert "repo:${var.github_repository}" in forms
    assert "accept_name_only" in forms
    for env in ENVS:
        assert argument(stack_call(env), "github.repository_ids") == "${var.github_repository_ids}"
    assert value(module_call(STACK, "github_oidc"), "github_repository_ids") == (
        "${var.github.repository_ids}"
    )


def test_deploy_role_writes_are_scoped() -> None:
    deploy = resource(OIDC, "aws_iam_policy_document", "deploy", kind="data")
    by_sid = {value(s, "sid"): s for s in blocks_of(deploy, "statement")}
    assert value(by_sid["RollOutService"], "resources") == ["${var.ecs_service_arn}"]
    assert value(by_sid["PushImage"], "resources") == ["${var.ecr_repository_arn}"]
    pass_role = by_sid["HandRolesToEcsTasks"]
    assert value(pass_role, "resources") == "${var.pass_role_arns}"
    (condition,) = blocks_of(pass_role, "condition")
    assert value(condition, "values") == ["ecs-tasks.amazonaws.com"]
    for sid, statement in by_sid.items():
        if value(statement, "resources") == ["*"]:
            assert sid in {"RefreshStack", "EcrLogin", "RegisterTaskDefinitions"}, sid
    # skip_destroy keeps old revisions, so nothing needs to deregister; unscoped, it would
    # reach every task definition in the account.
    listed = [value(s, "actions") for s in by_sid.values()]
    granted = [a for actions in listed if isinstance(actions, list) for a in actions]
    assert "ecs:DeregisterTaskDefinition" not in granted
    assert value(by_sid["RefreshStack"], "actions") == "${local.refresh_actions}"
    refresh = local(OIDC, "refresh_actions")
    writes = [a for a in refresh if not READ_ONLY.match(a)]
    assert writes == [], "the refresh actions must stay read-only"


def test_plan_role_is_read_only_and_trusts_only_pull_requests() -> None:
    trust = resource(OIDC, "aws_iam_policy_document", "plan_trust", kind="data")
    (statement,) = blocks_of(trust, "statement")
    subjects = [
        value(c, "values")
        for c in blocks_of(statement, "condition")
        if "sub" in value(c, "variable")
    ]
    assert subjects == ["${local.plan_subjects}"]
    assert (
        local(OIDC, "plan_subjects")
        == '${[for r in local.repository_subjects : "${r}:pull_request"]}'
    )
    plan = resource(OIDC, "aws_iam_policy_document", "plan", kind="data")
    actions = []
    for policy_statement in blocks_of(plan, "statement"):
        listed = value(policy_statement, "actions")
        actions += (
            local(OIDC, "refresh_actions") if listed == "${local.refresh_actions}" else listed
        )
    # Decrypt is how the state, encrypted with the state key, is read.
    assert [a for a in actions if not READ_ONLY.match(a)] == ["kms:Decrypt"]
    assert argument(stack_call("staging"), "github.create_plan_role") is True
    assert argument(stack_call("prod"), "github.create_plan_role") is False


def test_environments_differ_only_where_they_really_do() -> None:
    # Variables, providers and outputs are one set of files: prod links staging's. Each
    # environment's own files are its values (main.tf) and its backend key (versions.tf).
    own = {"main.tf", "versions.tf"}
    for path in sorted(env_dir("prod").glob("*.tf")):
        if path.name in own:
            assert not path.is_symlink(), path.name
        else:
            assert path.is_symlink(), f"{path.name} is a copy; link ../staging/{path.name}"
            assert path.resolve() == (env_dir("staging") / path.name).resolve()
    for env in ENVS:
        assert {p.name for p in env_dir(env).glob("*.tf")} == {
            "main.tf",
            "versions.tf",
            "variables.tf",
            "providers.tf",
            "outputs.tf",
        }
