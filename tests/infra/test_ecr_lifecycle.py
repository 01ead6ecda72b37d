"""The ECR lifecycle policy keeps as many deploys as the runbook promises.

ECR counts an image index and each of its platform manifests as separate images. This test
applies the policy the way ECR evaluates it (rules by priority; an image matched by a rule is not
considered by later ones; imageCountMoreThan keeps the newest pushes among those it selects) to
the pushes of many deploys, each an untagged manifest per platform and then the tagged index.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from tests.infra.terraform import MODULES, default, interpolation, resource, value

ECR = MODULES / "ecr"
PLATFORMS = ("linux/amd64", "linux/arm64")
PROMISED_DEPLOYS = 30  # docs/runbook.md: "the newest 30 tagged images (30 deploys) are kept"


@dataclass(frozen=True)
class Image:
    pushed: int
    deploy: int
    tag: str | None


def _number(text: object) -> int:
    """A countNumber: a literal or an expression of the module's variable defaults."""
    expression = interpolation(str(text))
    names = {name: default(ECR, name) for name in re.findall(r"var\.(\w+)", expression)}
    python = re.sub(r"var\.(\w+)", lambda m: str(names[m.group(1)]), expression)
    assert re.fullmatch(r"[\d\s*+]+", python), python
    return int(eval(python, {"__builtins__": {}}))  # noqa: S307 - digits, + and * only


def _rules() -> list[dict[str, Any]]:
    policy = value(resource(ECR, "aws_ecr_lifecycle_policy", "this"), "policy")
    # jsonencode({...}) as parsed: the object is the call's only argument.
    text = interpolation(str(policy)).removeprefix("jsonencode(").removesuffix(")")
    # The parser renders the argument as a Python literal.
    rules = ast.literal_eval(text)["rules"]
    assert isinstance(rules, list)
    return sorted(rules, key=lambda rule: int(rule["rulePriority"]))


def _matches(rule: dict[str, Any], image: Image) -> bool:
    selection = rule["selection"]
    assert isinstance(selection, dict)
    status = selection["tagStatus"]
    if status == "untagged":
        return image.tag is None
    if status == "any":
        return True
    patterns = selection.get("tagPatternList", [])
    prefixes = selection.get("tagPrefixList", [])
    return image.tag is not None and (
        any(fnmatchcase(image.tag, p) for p in patterns)
        or any(image.tag.startswith(p) for p in prefixes)
    )


def _surviving(images: list[Image], today: int) -> list[Image]:
    remaining = list(images)
    considered: set[int] = set()
    for rule in _rules():
        selection = rule["selection"]
        assert isinstance(selection, dict)
        count = _number(selection["countNumber"])
        matched = [i for i in remaining if i.pushed not in considered and _matches(rule, i)]
        considered |= {i.pushed for i in matched}
        if selection["countType"] == "sinceImagePushed":
            # One deploy a day, evaluated the day after the last one.
            expired = {i.pushed for i in matched if today - i.deploy > count}
        else:
            assert selection["countType"] == "imageCountMoreThan"
            newest_first = sorted(matched, key=lambda i: -i.pushed)
            expired = {i.pushed for i in newest_first[count:]}
        remaining = [i for i in remaining if i.pushed not in expired]
    return remaining


def _pushes(deploys: int) -> list[Image]:
    images: list[Image] = []
    for deploy in range(deploys):
        for _ in PLATFORMS:
            images.append(Image(len(images), deploy, None))
        images.append(Image(len(images), deploy, f"{deploy:040x}"))
    return images


def test_the_newest_30_deploys_keep_their_index_and_every_platform_manifest() -> None:
    deploys = 45
    surviving = _surviving(_pushes(deploys), today=deploys)
    complete = {
        deploy
        for deploy in range(deploys)
        if sum(1 for i in surviving if i.deploy == deploy) == len(PLATFORMS) + 1
    }
    newest = set(range(deploys - PROMISED_DEPLOYS, deploys))
    assert newest <= complete, f"complete deploys kept: {sorted(complete)}"
    assert all(i.deploy in newest for i in surviving), "older deploys are expired"
