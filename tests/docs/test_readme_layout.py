"""The README's layout section names what is in the tree, and every part of the tree is named."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {"__init__.py", "__main__.py", "__pycache__", "conftest.py"}


def layout() -> set[str]:
    """Every path the layout names, relative to the repository root."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("Layout:\n\n```\n", 1)[1].split("```", 1)[0]
    paths: set[str] = set()
    parent = ""
    for line in block.splitlines():
        names = re.split(r",\s*", re.split(r"\s{2,}", line.strip())[0])
        if line.startswith("  "):
            paths |= {parent + name for name in names}
        else:
            parent = names[0]
            paths |= set(names)
    return {path.rstrip("/") for path in paths}


def test_every_path_in_the_layout_exists() -> None:
    assert sorted(p for p in layout() if not (ROOT / p).exists()) == []


def test_every_module_and_folder_of_src_tests_and_tools_is_in_the_layout() -> None:
    named = layout()
    folders = ("src/hello_birthday", "tests", "tools")
    present = {
        f"{folder}/{path.name}"
        for folder in folders
        for path in (ROOT / folder).iterdir()
        if path.name not in SKIPPED
    }
    assert sorted(present - named) == []


def test_nothing_outside_tests_imports_from_tests() -> None:
    importing = re.compile(r"^\s*(from|import) tests\b", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("src", "tools", "scripts", "deploy", "docs")
        for path in (ROOT / folder).rglob("*.py")
        if importing.search(path.read_text())
    ]
    assert offenders == []
