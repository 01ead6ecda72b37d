"""The EKS workload module: the chart's pods get one table, through Pod Identity, and no more."""

from __future__ import annotations

from typing import Any

import yaml

from tests.infra.terraform import (
    MODULES,
    ROOT,
    blocks,
    blocks_of,
    interpolation,
    module_call,
    resource,
    value,
)

EKS = MODULES / "eks-workload"
ECS = MODULES / "ecs-service"
CHART_VALUES = ROOT / "deploy" / "helm" / "hello-birthday" / "values.yaml"


def statements(directory: Any, data_name: str) -> list[dict[str, Any]]:
    document = resource(directory, "aws_iam_policy_document", data_name, kind="data")
    return blocks_of(document, "statement")


def conditions(statement: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    return {
        value(c, "variable"): (value(c, "test"), value(c, "values"))
        for c in blocks_of(statement, "condition")
    }


def test_the_role_is_only_for_pod_identity_of_the_release() -> None:
    (trust,) = statements(EKS, "assume_pod_identity")
    (principal,) = blocks_of(trust, "principals")
    assert value(principal, "identifiers") == ["pods.eks.amazonaws.com"]
    assert sorted(value(trust, "actions")) == ["sts:AssumeRole", "sts:TagSession"]
    scoped = conditions(trust)
    assert scoped["aws:RequestTag/eks-cluster-name"] == ("StringEquals", ["${var.cluster.name}"])
    assert scoped["aws:RequestTag/kubernetes-namespace"] == (
        "StringEquals",
        ["${var.cluster.namespace}"],
    )
    assert scoped["aws:RequestTag/kubernetes-service-account"] == (
        "StringEquals",
        ["${var.cluster.service_account}"],
    )
    assert "aws:SourceAccount" in scoped


def test_the_role_may_touch_only_the_table_as_the_ecs_task_role_does() -> None:
    (grant,) = statements(EKS, "table")
    assert value(grant, "resources") == ["${module.dynamodb.table_arn}"]
    (ecs_grant,) = [s for s in statements(ECS, "task") if value(s, "sid") == "ReadWriteTheTable"]
    assert sorted(value(grant, "actions")) == sorted(value(ecs_grant, "actions"))
    policy = resource(EKS, "aws_iam_role_policy", "table")
    assert interpolation(value(policy, "role")) == "aws_iam_role.this.id"


def test_the_association_gives_that_role_to_the_release_service_account() -> None:
    association = resource(EKS, "aws_eks_pod_identity_association", "this")
    assert interpolation(value(association, "role_arn")) == "aws_iam_role.this.arn"
    for argument, field in (
        ("cluster_name", "name"),
        ("namespace", "namespace"),
        ("service_account", "service_account"),
    ):
        assert interpolation(value(association, argument)) == f"var.cluster.{field}"


def test_the_table_comes_from_the_shared_module_encrypted() -> None:
    table = module_call(EKS, "dynamodb")
    assert value(table, "source") == "../dynamodb"
    assert interpolation(value(table, "kms_key_arn")) == "local.kms_key_arn"
    assert value(module_call(EKS, "kms"), "source") == "../kms"


def test_the_helm_values_output_names_real_chart_values() -> None:
    (output,) = [b.body for b in blocks(EKS, "output") if b.labels == ("helm_values",)]
    chart = yaml.safe_load(CHART_VALUES.read_text())
    for dotted in value(output, "value"):
        node = chart
        for part in dotted.split("."):
            assert part in node, f"{dotted} is not a chart value"
            node = node[part]
