"""for_each and count must be known when the plan is made.

Terraform refuses a plan ("Invalid for_each argument", "Invalid count argument") whose instance
keys or count depend on a value AWS assigns only on create. The offline checks never plan, so
this test follows every for_each/count expression back through locals, module inputs (to the
caller's argument) and module outputs (to the output's value) and fails when it reaches an
attribute of a managed resource. Data sources are read during the plan and variables of an
environment root come from tfvars, so both end the walk.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.terraform import TERRAFORM, Block, blocks, config_dirs, value

# Resource attributes that are known at plan because the provider derives them from the
# configuration: the certificate's validation options are keyed by its domain names.
PLAN_TIME_ATTRIBUTES = {("aws_acm_certificate", "domain_validation_options")}

_REFERENCE = re.compile(
    r"(?<![\w.])(?:(data)\.\w+\.\w+|var\.(\w+)|local\.(\w+)|module\.(\w+)\.(\w+)|(aws_\w+)\.\w+(?:\[[^\]]*\])?\.(\w+))"
)


def _text(expression: Any) -> str:
    return str(expression)


def _callers(directory: Path) -> list[tuple[Path, Block]]:
    """The module blocks, anywhere in the tree, whose source is `directory`."""
    found = []
    for caller in config_dirs():
        for block in blocks(caller, "module"):
            source = value(block.body, "source")
            if (caller / source).resolve() == directory.resolve():
                found.append((caller, block))
    return found


def _apply_time_sources(
    directory: Path, expression: Any, seen: set[tuple[Path, str]], *, keys_only: bool = False
) -> list[str]:
    """The apply-time-only attributes `expression` in `directory` depends on, as a trail.

    With `keys_only` (a for_each) a map written out as a literal contributes only its keys:
    Terraform needs the instance keys at plan, the values may come later.
    """
    if keys_only and isinstance(expression, dict):
        expression = sorted(k for k in expression if not k.startswith("__"))
    problems: list[str] = []
    for match in _REFERENCE.finditer(_text(expression)):
        data, var, loc, mod, output, rtype, attr = match.groups()
        key = (directory, match.group(0))
        if data or key in seen:
            continue
        seen.add(key)
        where = f"{directory.relative_to(TERRAFORM)}: {match.group(0)}"
        if var:
            for caller, block in _callers(directory):
                if var in block.body:
                    trail = _apply_time_sources(
                        caller, value(block.body, var), seen, keys_only=keys_only
                    )
                    problems += [f"{where} <- {t}" for t in trail]
        elif loc:
            for block in blocks(directory, "locals"):
                if loc in block.body:
                    trail = _apply_time_sources(
                        directory, value(block.body, loc), seen, keys_only=keys_only
                    )
                    problems += [f"{where} <- {t}" for t in trail]
        elif mod:
            (call,) = [b for b in blocks(directory, "module") if b.labels == (mod,)]
            target = (directory / value(call.body, "source")).resolve()
            for block in blocks(target, "output"):
                if block.labels == (output,):
                    trail = _apply_time_sources(
                        target, value(block.body, "value"), seen, keys_only=keys_only
                    )
                    problems += [f"{where} <- {t}" for t in trail]
        elif (rtype, attr) not in PLAN_TIME_ATTRIBUTES:
            problems.append(where)
    return problems


def _repetitions() -> list[tuple[Path, str, Any]]:
    found = []
    for directory in config_dirs():
        for kind in ("resource", "data", "module"):
            for block in blocks(directory, kind):
                for argument in ("for_each", "count"):
                    if argument in block.body:
                        label = ".".join(block.labels)
                        found.append(
                            (directory, f"{label}.{argument}", value(block.body, argument))
                        )
    return found


@pytest.mark.parametrize(
    ("directory", "where", "expression"),
    _repetitions(),
    ids=[f"{d.relative_to(TERRAFORM)}:{w}" for d, w, _ in _repetitions()],
)
def test_for_each_and_count_are_known_at_plan(directory: Path, where: str, expression: Any) -> None:
    keys_only = where.endswith(".for_each")
    assert _apply_time_sources(directory, expression, set(), keys_only=keys_only) == [], (
        f"{where} depends on values AWS assigns only on apply"
    )


def test_the_walk_reaches_an_apply_time_attribute_through_a_module_output() -> None:
    stack = TERRAFORM / "modules" / "stack"
    trail = _apply_time_sources(stack, "${module.network.dynamodb_prefix_list_id}", set())
    assert trail == [
        "modules/stack: module.network.dynamodb_prefix_list_id"
        ' <- modules/network: aws_vpc_endpoint.gateway["dynamodb"].prefix_list_id'
    ]
