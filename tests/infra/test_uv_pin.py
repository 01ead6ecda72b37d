"""One uv version everywhere: pyproject.toml pins it; the Makefile, the image and CI follow."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def pinned() -> str:
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"][
        "required-version"
    ]
    match = re.fullmatch(r"==(\d+\.\d+\.\d+)", required)
    assert match, f"required-version must pin one release, not {required!r}"
    return match.group(1)


def test_the_image_installs_the_pinned_uv() -> None:
    versions = re.findall(r"^uv==(\S+)", (ROOT / "deploy/uv-requirements.txt").read_text(), re.M)
    assert versions == [pinned()]


def test_ci_takes_uv_from_pyproject() -> None:
    # setup-uv installs pyproject's required-version when no version is given.
    for workflow in sorted((ROOT / ".github/workflows").glob("*.yml")):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith("astral-sh/setup-uv@"):
                    assert "version" not in step.get("with", {}), f"{workflow.name}: {step}"
