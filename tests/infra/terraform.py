"""Read infra/terraform as parsed HCL for the policy tests.

The parser is the hcl2 package checkov itself uses: attribute values come wrapped in a one-element
list and nested blocks as lists of bodies, so `value()` unwraps the former. Interpolations stay
strings such as "${var.name}", which is what the tests compare against: they check the wiring
(which variable or module output feeds an argument) as well as literal values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hcl2.api import load as load_hcl

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "infra" / "terraform"
MODULES = TERRAFORM / "modules"
ENVS = ("staging", "prod")

Body = dict[str, Any]


@dataclass(frozen=True)
class Block:
    """One top-level block (resource, data, variable, ...) and where it is written."""

    kind: str
    labels: tuple[str, ...]
    body: Body
    path: Path

    @property
    def source(self) -> str:
        """The block's own lines, comments included (the parser drops comments)."""
        lines = self.path.read_text().splitlines()
        return "\n".join(lines[self.body["__start_line__"] - 1 : self.body["__end_line__"]])


def value(body: Body, key: str) -> Any:
    """The value of attribute `key` (KeyError if absent)."""
    raw = body[key]
    if isinstance(raw, list) and len(raw) == 1:
        return raw[0]
    return raw


def blocks_of(body: Body, key: str) -> list[Body]:
    """The nested blocks called `key` (possibly none)."""
    nested = body.get(key, [])
    assert isinstance(nested, list)
    return nested


def one_block(body: Body, key: str) -> Body:
    """The single nested block called `key`."""
    nested = blocks_of(body, key)
    assert len(nested) == 1, f"expected exactly one {key} block, found {len(nested)}"
    return nested[0]


@cache
def _parse(path: Path) -> Body:
    with path.open() as handle:
        parsed: Body = load_hcl(handle)
    return parsed


def config_dirs() -> list[Path]:
    """Every directory holding Terraform: modules, environments and bootstrap."""
    return sorted({p.parent for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts})


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if p.is_dir())


def stack_module_dirs() -> list[Path]:
    """The modules the environments instantiate, directly or through other modules.

    A module no environment calls (eks-workload, for a cluster the stack does not own) is
    applied by another root with its own credentials, so the pipeline's roles need nothing of it.
    """
    reached: set[Path] = set()
    pending = [TERRAFORM / "envs" / env for env in ENVS]
    while pending:
        directory = pending.pop()
        for call in blocks(directory, "module"):
            target = (directory / value(call.body, "source")).resolve()
            if target not in reached:
                reached.add(target)
                pending.append(target)
    return sorted(reached)


def blocks(directory: Path, kind: str) -> list[Block]:
    """All `kind` blocks of the configuration in `directory` (all its .tf files)."""
    found: list[Block] = []
    for path in sorted(directory.glob("*.tf")):
        for entry in _parse(path).get(kind, []):
            if kind in {"resource", "data"}:
                for rtype, named in entry.items():
                    for name, body in named.items():
                        found.append(Block(kind, (rtype, name), body, path))
            elif kind in {"variable", "output", "module", "provider"}:
                for name, body in entry.items():
                    found.append(Block(kind, (name,), body, path))
            else:
                found.append(Block(kind, (), entry, path))
    return found


def resource(directory: Path, rtype: str, name: str, kind: str = "resource") -> Body:
    """The body of resource (or data source) `rtype.name` in `directory`."""
    matches = [b.body for b in blocks(directory, kind) if b.labels == (rtype, name)]
    assert len(matches) == 1, f"{kind} {rtype}.{name} not found once in {directory}"
    return matches[0]


def resources_of_type(directory: Path, rtype: str) -> list[Block]:
    return [b for b in blocks(directory, "resource") if b.labels[0] == rtype]


def variable(directory: Path, name: str) -> Body:
    matches = [b.body for b in blocks(directory, "variable") if b.labels == (name,)]
    assert len(matches) == 1, f"variable {name} not found once in {directory}"
    return matches[0]


def default(directory: Path, name: str) -> Any:
    """Default value of variable `name` in `directory`; `group.attribute` reads an object
    variable's `optional(type, default)` for that attribute."""
    if "." not in name:
        return value(variable(directory, name), "default")
    group, attribute = name.split(".", 1)
    declared = str(value(variable(directory, group), "type"))
    # hcl2 renders the type as object({'attribute': '${optional(type,default)}', ...}).
    found = re.search(
        rf"'{attribute}': '\$\{{optional\((?:[^,()]|\([^()]*\))+,(.+?)\)\}}'", declared
    )
    assert found, f"{group}.{attribute} has no optional default in {directory}"
    text = found.group(1).replace("'", '"')
    return json.loads({"True": "true", "False": "false", "None": "null"}.get(text, text))


def argument(body: Body, path: str) -> Any:
    """The value at `group.attribute` of a block's object argument (or a plain argument)."""
    first, *rest = path.split(".")
    found = value(body, first)
    for key in rest:
        found = found[key]
    return found


def module_call(directory: Path, name: str) -> Body:
    matches = [b.body for b in blocks(directory, "module") if b.labels == (name,)]
    assert len(matches) == 1, f"module {name} not called once in {directory}"
    return matches[0]


def local(directory: Path, name: str) -> Any:
    matches = [value(b.body, name) for b in blocks(directory, "locals") if name in b.body]
    assert len(matches) == 1, f"local {name} not defined once in {directory}"
    return matches[0]


def interpolation(text: str) -> str:
    """'${var.x}' -> 'var.x'; anything that is not a bare interpolation is returned unchanged."""
    match = re.fullmatch(r"\$\{(.*)\}", text)
    return match.group(1) if match else text
