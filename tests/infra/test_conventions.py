"""Conventions every Terraform directory follows (terraform-aws-modules style)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.terraform import (
    ENVS,
    TERRAFORM,
    blocks,
    blocks_of,
    config_dirs,
    module_dirs,
    one_block,
    value,
)

ALL_DIRS = config_dirs()
# Any AWS region name, e.g. us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1.
REGION = re.compile(r"\b[a-z]{2}(-gov)?-(north|south|east|west|central)(east|west)?-\d\b")
ACCOUNT_ID = re.compile(r"(?<![\w.])\d{12}(?![\w.])")
MODULE_FILES = {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"}


def dir_id(directory: Path) -> str:
    return str(directory.relative_to(TERRAFORM))


@pytest.mark.parametrize("directory", ALL_DIRS, ids=dir_id)
def test_every_variable_has_a_type_and_a_description(directory: Path) -> None:
    for variable in blocks(directory, "variable"):
        assert "type" in variable.body, f"variable {variable.labels[0]} has no type"
        assert str(value(variable.body, "description")).strip(), variable.labels[0]


@pytest.mark.parametrize("directory", ALL_DIRS, ids=dir_id)
def test_every_output_has_a_description(directory: Path) -> None:
    for output in blocks(directory, "output"):
        assert str(value(output.body, "description")).strip(), output.labels[0]


@pytest.mark.parametrize("directory", ALL_DIRS, ids=dir_id)
def test_every_variable_is_used(directory: Path) -> None:
    text = "\n".join(p.read_text() for p in directory.glob("*.tf") if p.name != "variables.tf")
    unused = [
        v.labels[0] for v in blocks(directory, "variable") if f"var.{v.labels[0]}" not in text
    ]
    assert unused == []


@pytest.mark.parametrize("directory", ALL_DIRS, ids=dir_id)
def test_every_local_and_data_source_is_used(directory: Path) -> None:
    text = "\n".join(p.read_text() for p in directory.glob("*.tf"))
    names = [f"local.{name}" for b in blocks(directory, "locals") for name in b.body]
    names += [f"data.{b.labels[0]}.{b.labels[1]}" for b in blocks(directory, "data")]
    unused = [n for n in names if "__" not in n and n not in text]
    assert unused == []


@pytest.mark.parametrize("directory", module_dirs(), ids=dir_id)
def test_modules_hard_code_no_account_or_region(directory: Path) -> None:
    for path in directory.glob("*.tf"):
        text = path.read_text()
        assert not REGION.search(text), f"{path}: region {REGION.search(text)}"
        assert not ACCOUNT_ID.search(text), f"{path}: account id {ACCOUNT_ID.search(text)}"


def test_the_hard_coding_patterns_catch_what_they_should() -> None:
    assert REGION.search('region = "eu-west-1"')
    assert REGION.search("arn:aws:logs:ap-southeast-2:")
    assert ACCOUNT_ID.search("arn:aws:iam::123456789012:root")
    assert not REGION.search("ecs-tasks.amazonaws.com")
    assert not ACCOUNT_ID.search("version = 1.10")


@pytest.mark.parametrize("directory", ALL_DIRS, ids=dir_id)
def test_terraform_and_provider_versions_are_pinned(directory: Path) -> None:
    (settings,) = blocks(directory, "terraform")
    assert value(settings.body, "required_version") == ">= 1.10", "S3 native locking needs 1.10"
    providers = one_block(settings.body, "required_providers")
    aws = value(providers, "aws")
    assert aws["source"] == "hashicorp/aws"
    # Modules accept a range; the roots that are initialised pin one exact version
    # (test_pipeline_policy), so every init uses the provider that was validated.
    if directory.parent.name == "modules":
        assert aws["version"].startswith("~> "), "modules take a pessimistic constraint"
    else:
        assert re.fullmatch(r"\d+\.\d+\.\d+", aws["version"]), "roots pin one exact version"


@pytest.mark.parametrize("directory", module_dirs(), ids=dir_id)
def test_module_layout_and_readme_tables(directory: Path) -> None:
    assert {p.name for p in directory.iterdir()} >= MODULE_FILES
    readme = (directory / "README.md").read_text()
    assert "## Inputs" in readme
    assert "## Outputs" in readme
    for kind in ("variable", "output"):
        for block in blocks(directory, kind):
            assert f"| `{block.labels[0]}` |" in readme, f"README misses {kind} {block.labels[0]}"


# A module's interface stays readable when related inputs come as one typed object with
# optional() attributes (terraform-aws-modules' style): "about 15" inputs at most.
MAX_INPUTS = 15
# Grouped later; each is one or two over, with inputs that do not yet form a group.
OVER_MAX_INPUTS = {"alb": 16, "github-oidc": 17}


@pytest.mark.parametrize("directory", module_dirs(), ids=dir_id)
def test_modules_take_few_inputs_grouped_into_objects(directory: Path) -> None:
    inputs = len(blocks(directory, "variable"))
    assert inputs <= OVER_MAX_INPUTS.get(directory.name, MAX_INPUTS), f"{inputs} inputs"


@pytest.mark.parametrize(
    "directory", [TERRAFORM / "envs" / e for e in ENVS] + [TERRAFORM / "bootstrap"], ids=dir_id
)
def test_root_configurations_tag_everything_through_default_tags(directory: Path) -> None:
    (provider,) = [b.body for b in blocks(directory, "provider") if b.labels == ("aws",)]
    tags = value(one_block(provider, "default_tags"), "tags")
    assert {"Project", "ManagedBy"} <= set(tags)


def test_modules_configure_no_provider() -> None:
    for directory in module_dirs():
        assert blocks(directory, "provider") == [], directory


def test_every_checkov_suppression_is_inline_with_a_reason() -> None:
    skip = re.compile(r"#checkov:skip=(\S+)")
    with_reason = re.compile(r"#checkov:skip=CKV2?_AWS_\d+:\S.{10,}")
    found = 0
    for path in TERRAFORM.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if skip.search(line):
                found += 1
                assert with_reason.search(line), f"{path}: {line.strip()}"
    assert found > 0


def test_no_configuration_asks_for_a_latest_image() -> None:
    for path in TERRAFORM.rglob("*.tf"):
        assert ":latest" not in path.read_text(), path


def test_security_group_rules_are_described() -> None:
    for directory in ALL_DIRS:
        for block in blocks(directory, "resource"):
            if block.labels[0].startswith("aws_vpc_security_group_") or block.labels[0] == (
                "aws_security_group"
            ):
                assert value(block.body, "description"), block.labels


def test_policy_documents_with_star_resources_carry_a_reasoned_suppression() -> None:
    for directory in ALL_DIRS:
        for document in blocks(directory, "data"):
            if document.labels[0] != "aws_iam_policy_document":
                continue
            for statement in blocks_of(document.body, "statement"):
                resources = value(statement, "resources") if "resources" in statement else []
                if "*" in resources and value(statement, "actions") != ["kms:*"]:
                    assert "#checkov:skip=CKV_AWS_356:" in document.source, document.labels
