"""One catalogue of problem types: every answer and the OpenAPI document take theirs from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hello_birthday import problems
from hello_birthday.openapi import build_document
from hello_birthday.problems import PROBLEM_BASE, ProblemType
from hello_birthday.settings import AuthSettings

SRC = Path(problems.__file__).parent
CATALOGUE = [v for v in vars(problems).values() if isinstance(v, ProblemType)]


def test_each_kind_is_written_once() -> None:
    slugs = [kind.slug for kind in CATALOGUE]
    assert len(slugs) == len(set(slugs))
    assert all(kind.retry_after == (kind.status == 503) for kind in CATALOGUE)


def test_no_module_spells_a_problem_type_of_its_own() -> None:
    spelled = re.compile(r"PROBLEM_BASE \+|urn:hello-birthday:problem:")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "problems.py" and spelled.search(path.read_text())
    ]
    assert offenders == []


def _examples(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if str(node.get("type", "")).startswith(PROBLEM_BASE) else []
        return found + [e for value in node.values() for e in _examples(value)]
    if isinstance(node, list):
        return [e for value in node for e in _examples(value)]
    return []


def test_the_documented_problems_are_the_catalogues() -> None:
    jwt = AuthSettings(mode="jwt", reads="required", jwks_url="/k", issuer="i", audience="a")
    by_type = {kind.type_uri: kind for kind in CATALOGUE}
    examples = _examples(build_document(jwt))
    assert examples
    for example in examples:
        kind = by_type[example["type"]]
        assert (example["status"], example["title"]) == (kind.status, kind.title)
