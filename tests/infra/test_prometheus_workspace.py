"""The managed Prometheus workspace: encrypted, logged, fed the repo's rules, alerting to SNS.

The alert manager definition is checked by the real Alertmanager's `amtool check-config` (Debian's
prometheus-alertmanager, installed by `make prometheus-tool`), the same way promtool checks the
rules: AMP takes the standard Alertmanager format inside its `alertmanager_config` key.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.terraform import (
    MODULES,
    ROOT,
    blocks_of,
    local,
    module_call,
    one_block,
    resource,
    value,
)

PROMETHEUS = MODULES / "prometheus"
STACK = MODULES / "stack"
KMS = MODULES / "kms"
OBSERVABILITY = MODULES / "observability"
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"

TOPIC = "arn:aws:sns:eu-west-1:111122223333:hello-birthday-prod-alarms"
REGION = "eu-west-1"


def _unescape(text: str) -> str:
    """An HCL quoted string's escapes as the parser leaves them (\\" and \\\\) resolved."""
    return re.sub(r"\\(.)", r"\1", text)


def _resolve(node: Any) -> Any:
    """The alert manager config with the module's interpolations given test values."""
    if isinstance(node, dict):
        return {k: _resolve(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v) for v in node]
    if isinstance(node, str):
        text = node.replace("${var.sns_topic_arn}", TOPIC).replace("${local.region}", REGION)
        assert "${" not in text, f"unresolved interpolation in {text}"
        return _unescape(text)
    return node


def test_the_workspace_is_encrypted_with_the_stack_key_and_logs() -> None:
    workspace = resource(PROMETHEUS, "aws_prometheus_workspace", "this")
    assert value(workspace, "kms_key_arn") == "${var.kms_key_arn}"
    logging = one_block(workspace, "logging_configuration")
    assert value(logging, "log_group_arn") == "${aws_cloudwatch_log_group.this.arn}:*"
    group = resource(PROMETHEUS, "aws_cloudwatch_log_group", "this")
    assert value(group, "kms_key_id") == "${var.kms_key_arn}"
    assert value(group, "retention_in_days") == "${var.log_retention_days}"
    # The key admits CloudWatch Logs only for log groups named after the stack.
    assert "${var.name}" in value(group, "name")
    call = module_call(STACK, "prometheus")
    assert value(call, "kms_key_arn") == "${module.kms.key_arn}"
    assert value(call, "log_retention_days") == "${var.log_retention_days}"


def test_the_rule_group_namespace_is_the_repos_rules_file_itself() -> None:
    namespace = resource(PROMETHEUS, "aws_prometheus_rule_group_namespace", "this")
    assert value(namespace, "workspace_id") == "${aws_prometheus_workspace.this.id}"
    match = re.fullmatch(r'\$\{file\("\$\{path\.module\}/(.+)"\)\}', value(namespace, "data"))
    assert match, "the rules are read with file(), not copied"
    assert (PROMETHEUS / match.group(1)).resolve() == RULES


def _alertmanager_config() -> dict[str, Any]:
    definition = resource(PROMETHEUS, "aws_prometheus_alert_manager_definition", "this")
    assert value(definition, "workspace_id") == "${aws_prometheus_workspace.this.id}"
    encoded = value(definition, "definition")
    # AMP's format: the Alertmanager config as a string under alertmanager_config, the
    # templates under template_files.
    assert encoded == (
        "${yamlencode({'alertmanager_config': '${yamlencode(local.alertmanager_config)}', "
        "'template_files': {'default_template': '${local.message_template}'}})}"
    )
    config: dict[str, Any] = _resolve(local(PROMETHEUS, "alertmanager_config"))
    return config


def test_every_alert_goes_to_the_stacks_topic_signed_for_the_region() -> None:
    config = _alertmanager_config()
    (receiver,) = config["receivers"]
    assert config["route"]["receiver"] == receiver["name"]
    assert "routes" not in config["route"], "one receiver, no route that could drop an alert"
    (sns,) = receiver["sns_configs"]
    assert sns["topic_arn"] == TOPIC
    assert sns["sigv4"] == {"region": REGION}
    # AMP sets these itself and refuses a definition that has them.
    assert "api_url" not in sns
    assert "http_config" not in sns
    assert int(config["route"]["repeat_interval"].removesuffix("h")) <= 5 * 24
    assert value(module_call(STACK, "prometheus"), "sns_topic_arn") == (
        "${module.observability.sns_topic_arn}"
    )


@pytest.mark.skipif(shutil.which("amtool") is None, reason="make prometheus-tool installs amtool")
def test_alertmanager_accepts_the_definition_and_renders_its_template(tmp_path: Path) -> None:
    template = tmp_path / "default_template"
    template.write_text(local(PROMETHEUS, "message_template"))
    config = _alertmanager_config() | {"templates": [str(template)]}
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    checked = subprocess.run(
        ["amtool", "check-config", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert " - 1 receivers" in checked.stdout
    assert " - 1 templates" in checked.stdout
    (sns,) = config["receivers"][0]["sns_configs"]
    for text in (sns["subject"], sns["message"]):
        rendered = subprocess.run(
            [
                "amtool",
                "template",
                "render",
                f"--template.glob={template}",
                f"--template.text={text}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert rendered.returncode == 0, rendered.stderr
    # SNS takes a subject of at most 100 characters on one line.
    longest = max(
        (
            str(rule["alert"])
            for group in yaml.safe_load(RULES.read_text())["groups"]
            for rule in group["rules"]
            if "alert" in rule
        ),
        key=len,
    )
    subject = (
        sns["subject"]
        .replace("{{ .Status | toUpper }}", "RESOLVED")
        .replace("{{ .CommonLabels.alertname }}", longest)
        .replace("{{ .CommonLabels.severity }}", "ticket")
    )
    assert "{{" not in subject
    assert len(subject) <= 100
    assert "\n" not in subject


def _statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in blocks_of(document, "statement") if value(s, "sid") == sid]
    return found


def test_the_key_admits_the_workspace_and_its_alert_manager() -> None:
    key = resource(KMS, "aws_iam_policy_document", "key", kind="data")
    workspace = _statement(key, "PrometheusWorkspaceOnBehalfOfAccountPrincipals")
    conditions = {
        value(c, "variable"): value(c, "values") for c in blocks_of(workspace, "condition")
    }
    assert conditions == {
        "kms:CallerAccount": ["${local.account_id}"],
        "kms:ViaService": ["aps.${local.region}.amazonaws.com"],
    }
    assert "kms:CreateGrant" in value(workspace, "actions")
    publisher = _statement(key, "PrometheusAlertManagerPublishesToEncryptedTopic")
    assert value(one_block(publisher, "principals"), "identifiers") == ["aps.amazonaws.com"]
    assert sorted(value(publisher, "actions")) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    (condition,) = blocks_of(publisher, "condition")
    assert value(condition, "variable") == "aws:SourceAccount"


def test_the_topic_admits_this_workspaces_alert_manager_only() -> None:
    topic = resource(OBSERVABILITY, "aws_iam_policy_document", "topic", kind="data")
    publisher = _statement(topic, "PrometheusAlertManagerPublishes")
    assert value(one_block(publisher, "principals"), "identifiers") == ["aps.amazonaws.com"]
    assert sorted(value(publisher, "actions")) == ["sns:GetTopicAttributes", "sns:Publish"]
    conditions = {
        (value(c, "test"), value(c, "variable")): value(c, "values")
        for c in blocks_of(publisher, "condition")
    }
    assert conditions == {
        ("StringEquals", "aws:SourceAccount"): ["${local.account_id}"],
        ("ArnEquals", "aws:SourceArn"): ["${var.prometheus_workspace_arn}"],
    }
    policy = resource(OBSERVABILITY, "aws_sns_topic_policy", "alarms")
    assert value(policy, "policy") == "${data.aws_iam_policy_document.topic.json}"
    # Replacing the default policy must not lock out the CloudWatch alarms.
    alarms = _statement(topic, "CloudWatchAlarmsPublish")
    assert value(one_block(alarms, "principals"), "identifiers") == ["cloudwatch.amazonaws.com"]
    assert value(module_call(STACK, "observability"), "prometheus_workspace_arn") == (
        "${module.prometheus.workspace_arn}"
    )


def test_tasks_reach_the_workspace_through_an_interface_endpoint() -> None:
    services = local(STACK, "interface_endpoints")
    assert services.startswith("${concat(['ecr.api', 'ecr.dkr', 'logs', 'aps-workspaces'],")
    network = module_call(STACK, "network")
    assert value(network, "interface_endpoint_services") == "${local.interface_endpoints}"
    egress = resource(
        MODULES / "ecs-service", "aws_vpc_security_group_egress_rule", "task_to_endpoints"
    )
    assert value(egress, "from_port") == 443
    assert (
        value(egress, "referenced_security_group_id")
        == "${var.network.endpoints_security_group_id}"
    )
    assert value(module_call(STACK, "service"), "network")["endpoints_security_group_id"] == (
        "${module.network.endpoints_security_group_id}"
    )


def test_the_pipeline_may_update_the_rules_of_this_workspace_and_nothing_else_of_it() -> None:
    oidc = MODULES / "github-oidc"
    deploy = resource(oidc, "aws_iam_policy_document", "deploy", kind="data")
    rules = _statement(deploy, "UpdateTheAlertRules")
    assert value(rules, "actions") == [
        "aps:PutRuleGroupsNamespace",
        "aps:PutAlertManagerDefinition",
    ]
    assert value(rules, "resources") == [
        "${var.prometheus.rule_group_namespace_arn}",
        "${var.prometheus.workspace_arn}",
    ]
    writes = [
        action
        for statement in blocks_of(deploy, "statement")
        if value(statement, "sid") != "RefreshStack"
        for action in value(statement, "actions")
        if str(action).startswith("aps:")
    ]
    assert sorted(writes) == ["aps:PutAlertManagerDefinition", "aps:PutRuleGroupsNamespace"]
    wiring = value(module_call(STACK, "github_oidc"), "prometheus")
    assert wiring == {
        "workspace_arn": "${module.prometheus.workspace_arn}",
        "rule_group_namespace_arn": "${module.prometheus.rule_group_namespace_arn}",
    }
