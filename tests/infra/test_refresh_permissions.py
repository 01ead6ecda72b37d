"""The roles that run terraform plan can read every resource of the stack.

A plan refreshes each resource first; one missing read action (s3:ListBucket for HeadBucket on
the access-log bucket) stops every plan and apply with AccessDenied, which no offline check sees.
The table of read actions per type lives beside the roles (modules/github-oidc/
refresh-actions.json); this test keeps it complete and the roles' grants covering it.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest

from tests.infra.terraform import MODULES, blocks, local, stack_module_dirs, value

OIDC = MODULES / "github-oidc"
TABLE: dict[str, list[str]] = json.loads((OIDC / "refresh-actions.json").read_text())["types"]


def _stack_types() -> set[str]:
    return {
        block.labels[0]
        for directory in stack_module_dirs()
        for kind in ("resource", "data")
        for block in blocks(directory, kind)
    }


def _granted(policy: str) -> list[str]:
    """Every action an Allow statement of policy document `policy` grants."""
    (document,) = [
        b.body for b in blocks(OIDC, "data") if b.labels == ("aws_iam_policy_document", policy)
    ]
    granted: list[str] = []
    for statement in document["statement"]:
        if statement.get("effect", ["Allow"]) != ["Allow"]:
            continue
        actions = value(statement, "actions")
        if actions == "${local.refresh_actions}":
            actions = local(OIDC, "refresh_actions")
        granted += [str(action) for action in actions]
    return granted


def test_every_resource_type_of_the_stack_has_a_row() -> None:
    assert sorted(_stack_types() - TABLE.keys()) == []


@pytest.mark.parametrize("policy", ["deploy", "plan"])
def test_the_role_grants_every_read_action_of_the_table(policy: str) -> None:
    granted = _granted(policy)
    missing = sorted(
        f"{rtype}: {action}"
        for rtype, actions in TABLE.items()
        for action in actions
        if not any(fnmatchcase(action, pattern) for pattern in granted)
    )
    assert missing == []
