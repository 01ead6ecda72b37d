"""The operator documents point at things that exist: files, make targets, settings, metrics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
DOCUMENTS = ("architecture.md", "runbook.md", "slo.md", "cost.md")
PICTURES = (
    "request-path.png",
    "control-plane.png",
    "observability.png",
    "security.png",
    "delivery-flow.png",
)
README = ROOT / "README.md"
# Everything a reader follows: the documents and the README.
READABLE = sorted([*(DOCS / name for name in DOCUMENTS), README])

MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
# hello_birthday is the package, every other hello_* word is a metric.
METRIC = re.compile(r"\bhello_(?!birthday\b)[a-z_]+\b")
# prometheus_client adds these to the name given in the code.
METRIC_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")
SETTING = re.compile(r"\bHELLO_[A-Z_]+\b")
# In a code span or at the start of a line of a code block, so that prose ("make sure") is not read.
MAKE_TARGET = re.compile(r"(?:`|^\s*)make ([a-z][a-z0-9-]*)", re.MULTILINE)
SCRIPT = re.compile(r"\bscripts/[A-Za-z0-9_./-]*[A-Za-z0-9_]")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def source_text() -> str:
    return "\n".join(read(p) for p in sorted((ROOT / "src" / "hello_birthday").rglob("*.py")))


def links(path: Path) -> list[str]:
    return [
        target.split("#", 1)[0]
        for target in MARKDOWN_LINK.findall(read(path))
        if not re.match(r"[a-z]+:", target) and not target.startswith("#")
    ]


@pytest.mark.parametrize("path", READABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = [t for t in links(path) if not (path.parent / t).exists()]
    assert broken == [], f"links to nothing: {broken}"


def test_readme_shows_the_pictures_and_links_every_document() -> None:
    targets = {str((ROOT / t).resolve().relative_to(ROOT)) for t in links(README)}
    # Every document in docs/, whoever wrote it, not only the ones above.
    everything = {p.name for p in DOCS.glob("*.md")}
    wanted = {f"docs/{name}" for name in (*everything, *DOCUMENTS, *PICTURES)}
    assert wanted - targets == set(), f"not linked from README.md: {sorted(wanted - targets)}"


@pytest.mark.parametrize("path", [README, DOCS / "architecture.md"], ids=["README", "architecture"])
def test_the_request_path_is_drawn_in_mermaid(path: Path) -> None:
    assert "```mermaid" in read(path)
    block = read(path).split("```mermaid", 1)[1].split("```", 1)[0]
    order = [block.find(word) for word in ("Route 53", "WAF", "ALB", "Fargate", "DynamoDB")]
    assert -1 not in order
    assert order == sorted(order)


@pytest.mark.parametrize("path", READABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_metrics_named_are_exported_by_the_service(path: Path) -> None:
    code = source_text()
    unknown = set()
    for name in METRIC.findall(read(path)):
        base = next((name.removesuffix(s) for s in METRIC_SUFFIXES if name.endswith(s)), name)
        if f'"{base}"' not in code:
            unknown.add(name)
    assert unknown == set(), f"named but not found: {sorted(unknown)}"


@pytest.mark.parametrize("path", READABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_settings_named_are_read_by_the_service(path: Path) -> None:
    code = source_text()
    # A name ending in "_" is a family written as HELLO_JWT_*: some setting must start with it.
    unknown = {
        name
        for name in SETTING.findall(read(path))
        if (f'"{name}' if name.endswith("_") else f'"{name}"') not in code
    }
    assert unknown == set(), f"named but not found: {sorted(unknown)}"


@pytest.mark.parametrize("path", READABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_make_targets_named_exist(path: Path) -> None:
    makefile = read(ROOT / "Makefile")
    unknown = {
        target
        for target in MAKE_TARGET.findall(read(path))
        if not re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE)
    }
    assert unknown == set(), f"named but not found: {sorted(unknown)}"


@pytest.mark.parametrize("path", READABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_scripts_named_exist(path: Path) -> None:
    missing = {s for s in SCRIPT.findall(read(path)) if not (ROOT / s).exists()}
    assert missing == set(), f"named but not found: {sorted(missing)}"
