"""The public edge: HTTPS only, readiness-based health checks, WAF in front."""

from __future__ import annotations

from hello_birthday.settings import Settings
from tests.infra.terraform import (
    MODULES,
    blocks_of,
    default,
    module_call,
    one_block,
    resource,
    resources_of_type,
    value,
)

ALB = MODULES / "alb"
# AWS's TLS 1.3 policies keep TLS 1.2 only with forward-secret AEAD ciphers.
MODERN_TLS_POLICIES = {
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
}


def test_listeners_are_https_and_http_only_redirects() -> None:
    listeners = resources_of_type(ALB, "aws_lb_listener")
    assert listeners
    protocols = set()
    for listener in listeners:
        protocol = value(listener.body, "protocol")
        protocols.add(protocol)
        action = one_block(listener.body, "default_action")
        if protocol == "HTTPS":
            assert value(listener.body, "ssl_policy") == "${var.ssl_policy}"
            assert value(listener.body, "certificate_arn")
        else:
            assert protocol == "HTTP", f"unexpected listener protocol {protocol}"
            assert value(action, "type") == "redirect"
            redirect = one_block(action, "redirect")
            assert value(redirect, "protocol") == "HTTPS"
            assert value(redirect, "status_code") == "HTTP_301"
    assert protocols == {"HTTPS", "HTTP"}
    assert default(ALB, "ssl_policy") in MODERN_TLS_POLICIES


def test_alb_drops_invalid_headers_and_logs_to_an_encrypted_bucket() -> None:
    alb = resource(ALB, "aws_lb", "this")
    assert value(alb, "drop_invalid_header_fields") is True
    assert value(alb, "internal") is False
    logs = one_block(alb, "access_logs")
    assert value(logs, "enabled") is True
    assert value(logs, "bucket") == "${aws_s3_bucket.logs.id}"
    encryption = resource(ALB, "aws_s3_bucket_server_side_encryption_configuration", "logs")
    default_rule = one_block(
        one_block(encryption, "rule"), "apply_server_side_encryption_by_default"
    )
    assert value(default_rule, "sse_algorithm") == "AES256", "ALB log delivery only supports SSE-S3"
    block = resource(ALB, "aws_s3_bucket_public_access_block", "logs")
    assert all(
        value(block, key) is True
        for key in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )


def test_target_group_probes_readiness_and_drains_like_the_app() -> None:
    group = resource(ALB, "aws_lb_target_group", "this")
    assert value(group, "target_type") == "ip"
    assert value(group, "deregistration_delay") == "${var.deregistration_delay}"
    check = one_block(group, "health_check")
    assert value(check, "path") == "${var.health_check_path}"
    assert default(ALB, "health_check_path") == "/readyz"
    assert default(ALB, "deregistration_delay") == 30


def test_waf_has_managed_rules_and_a_rate_limit_and_is_attached() -> None:
    acl = resource(ALB, "aws_wafv2_web_acl", "this")
    assert value(acl, "scope") == "REGIONAL"
    managed = set()
    rate_limited = False
    for rule in blocks_of(acl, "rule"):
        statement = one_block(rule, "statement")
        for group in blocks_of(statement, "managed_rule_group_statement"):
            assert value(group, "vendor_name") == "AWS"
            managed.add(value(group, "name"))
            assert "none" in one_block(rule, "override_action"), "managed rules must block"
        for rate in blocks_of(statement, "rate_based_statement"):
            rate_limited = True
            assert value(rate, "aggregate_key_type") == "IP"
            assert "block" in one_block(rule, "action")
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"} <= managed
    assert rate_limited
    association = resource(ALB, "aws_wafv2_web_acl_association", "this")
    assert value(association, "resource_arn") == "${aws_lb.this.arn}"
    logging = resource(ALB, "aws_wafv2_web_acl_logging_configuration", "this")
    assert value(logging, "resource_arn") == "${aws_wafv2_web_acl.this.arn}"


def test_alb_security_group_opens_only_80_and_443() -> None:
    ports = {
        (value(b.body, "from_port"), value(b.body, "to_port"))
        for b in resources_of_type(ALB, "aws_vpc_security_group_ingress_rule")
    }
    assert ports == {(80, 80), (443, 443)}


def test_certificate_is_requested_only_when_none_is_given() -> None:
    certificate = resource(ALB, "aws_acm_certificate", "this")
    assert value(certificate, "count") == "${local.create_cert ? 1 : 0}"
    assert value(certificate, "validation_method") == "DNS"


def test_alb_deletion_protection_follows_the_environment_input() -> None:
    # checkov's CKV_AWS_150 is suppressed on the ALB because staging turns it off; prod's value is
    # asserted in test_envs_policy.
    alb = resource(ALB, "aws_lb", "this")
    assert value(alb, "enable_deletion_protection") == "${var.deletion_protection}"
    assert default(ALB, "deletion_protection") is True
    stack_alb = module_call(MODULES / "stack", "alb")
    assert value(stack_alb, "deletion_protection") == "${var.protection.deletion_protection}"


def test_targets_keep_idle_connections_longer_than_the_alb() -> None:
    # If the target closed first, the ALB could send a request on a connection being closed: 502.
    alb_idle = value(resource(ALB, "aws_lb", "this"), "idle_timeout")
    assert isinstance(alb_idle, int)
    assert Settings().keep_alive_seconds >= alb_idle + 5
