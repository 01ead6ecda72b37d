"""Shared readers for the documentation consistency tests: the Terraform and the diagram source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hcl2.api import load as load_hcl

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "infra" / "terraform"
ARCHITECTURE_PY = ROOT / "docs" / "architecture.py"

# (resource type, resource name, path relative to the repo, attributes)
Resource = tuple[str, str, str, dict[str, Any]]


def _terraform_files() -> list[Path]:
    return sorted(p for p in TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in p.parts)


@pytest.fixture(scope="session")
def terraform_resources() -> list[Resource]:
    files = _terraform_files()
    assert files, f"no Terraform under {TERRAFORM_DIR}"
    resources: list[Resource] = []
    for path in files:
        with path.open() as handle:
            parsed = load_hcl(handle)
        for block in parsed.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    resources.append((rtype, name, str(path.relative_to(ROOT)), body))
    return resources


def _run_architecture(*args: str) -> str:
    """Run docs/architecture.py with this interpreter; it needs no Graphviz for dot/components."""
    done = subprocess.run(
        [sys.executable, str(ARCHITECTURE_PY), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="session")
def diagram_components() -> dict[str, dict[str, list[str]]]:
    components: dict[str, dict[str, list[str]]] = json.loads(_run_architecture("components"))
    return components


@pytest.fixture(scope="session")
def regenerated_dot(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Picture name -> the DOT source docs/architecture.py produces now."""
    out_dir = tmp_path_factory.mktemp("dot")
    _run_architecture("dot", str(out_dir))
    return {path.stem: path.read_text() for path in sorted(out_dir.glob("*.dot"))}
