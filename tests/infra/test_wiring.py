"""The part of `terraform validate` that needs no provider: names and module interfaces line up.

`terraform validate` itself needs the AWS provider's schema, which cannot be downloaded here (the
pipeline runs it). What can be checked offline is everything between our own files: module calls
pass exactly the inputs the module declares, and every var/local/module/data/resource reference
points at something that exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.terraform import TERRAFORM, blocks, config_dirs, value

META_ARGUMENTS = {"source", "count", "for_each", "depends_on", "providers", "version"}
ALL_DIRS = config_dirs()


def dir_id(directory: Path) -> str:
    return str(directory.relative_to(TERRAFORM))


def code(directory: Path) -> str:
    """The directory's Terraform with comments removed."""
    lines = []
    for path in sorted(directory.glob("*.tf")):
        lines += [
            line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
        ]
    return "\n".join(lines)


def declared(directory: Path, kind: str) -> set[str]:
    return {b.labels[0] for b in blocks(directory, kind)}


def callee(directory: Path, call: str) -> Path:
    (body,) = [b.body for b in blocks(directory, "module") if b.labels == (call,)]
    source: str = value(body, "source")
    return (directory / source).resolve()


@pytest.mark.parametrize("directory", ALL_DIRS, ids=dir_id)
def test_module_calls_match_the_module_inputs(directory: Path) -> None:
    for call in blocks(directory, "module"):
        target = callee(directory, call.labels[0])
        assert target.is_dir(), f"module {call.labels[0]}: no directory {target}"
        passed = {k for k in call.body if not k.startswith("__")} - META_ARGUMENTS
        inputs = {b.labels[0]: b.body for b in blocks(target, "variable")}
        assert passed - set(inputs) == set(), f"module {call.labels[0]}: unknown inputs"
        required = {name for name, body in inputs.items() if "default" not in body}
        assert required - passed == set(), f"module {call.labels[0]}: missing required inputs"


@pytest.mark.parametrize("directory", ALL_DIRS, ids=dir_id)
def test_module_output_references_exist(directory: Path) -> None:
    calls = declared(directory, "module")
    for name, output in re.findall(r"\bmodule\.(\w+)(?:\[\d+\])?\.(\w+)", code(directory)):
        assert name in calls, f"module.{name} is not called here"
        outputs = declared(callee(directory, name), "output")
        assert output in outputs, f"module.{name} has no output {output}"


@pytest.mark.parametrize("directory", ALL_DIRS, ids=dir_id)
def test_variable_and_local_references_exist(directory: Path) -> None:
    text = code(directory)
    variables = declared(directory, "variable")
    locals_ = {name for b in blocks(directory, "locals") for name in b.body if "__" not in name}
    assert set(re.findall(r"\bvar\.(\w+)", text)) - variables == set()
    assert set(re.findall(r"\blocal\.(\w+)", text)) - locals_ == set()


@pytest.mark.parametrize("directory", ALL_DIRS, ids=dir_id)
def test_resource_and_data_references_exist(directory: Path) -> None:
    text = code(directory)
    resources = {b.labels for b in blocks(directory, "resource")}
    data = {b.labels for b in blocks(directory, "data")}
    for rtype, name in re.findall(r"\bdata\.(aws_\w+)\.(\w+)", text):
        assert (rtype, name) in data, f"data.{rtype}.{name} is not declared"
    # A reference is a bare aws_<type>.<name> not preceded by "data." or a quote.
    for rtype, name in re.findall(r"(?<![\w.\"/])(aws_[a-z0-9_]+)\.([a-z_][a-z0-9_]*)\b", text):
        assert (rtype, name) in resources, f"{rtype}.{name} is not declared"


def test_the_reference_checks_see_references() -> None:
    service = TERRAFORM / "modules" / "ecs-service"
    text = code(service)
    assert "aws_iam_role.task" in text
    assert re.findall(r"\bdata\.(aws_\w+)\.(\w+)", text)
    assert re.findall(r"\bmodule\.(\w+)(?:\[\d+\])?\.(\w+)", code(TERRAFORM / "modules" / "stack"))
