"""Render the Helm chart with the project's own helm (scripts/helm) for the chart tests.

Every render uses a private copy of the chart with its packaged files put in by
scripts/chart-files, exactly as `make chart-package` does, and private helm directories, so
tests running side by side never share state and never write into the work tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "hello-birthday"
VALUE_SETS = sorted(p.name.removesuffix("-values.yaml") for p in (CHART / "ci").glob("*.yaml"))
RELEASE = "hb"
# The default of scripts/chart-files: the Prometheus rules file of issue 14.
REPO_RULES = ROOT / "deploy" / "prometheus" / "rules.yml"

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


class Chart:
    """A copy of the chart in `workdir`, rendered by the locked helm."""

    def __init__(self, workdir: Path, rules: Path | None = None) -> None:
        self.path = workdir / "hello-birthday"
        shutil.copytree(CHART, self.path, ignore=shutil.ignore_patterns("prometheus-rules.yaml"))
        args = [sys.executable, str(ROOT / "scripts" / "chart-files"), "--chart", str(self.path)]
        if rules is not None:
            args += ["--rules", str(rules)]
        subprocess.run(args, check=True, capture_output=True, timeout=60)
        home = workdir / "helm-home"
        self._env = dict(
            os.environ,
            HELM_CACHE_HOME=str(home / "cache"),
            HELM_CONFIG_HOME=str(home / "config"),
            HELM_DATA_HOME=str(home / "data"),
        )

    def helm(self, *args: str) -> Result:
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "helm"), *args],
            capture_output=True,
            text=True,
            env=self._env,
            check=False,
            timeout=60,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def values_args(self, value_set: str | None, overrides: dict[str, str]) -> list[str]:
        args = ["-f", str(self.path / "ci" / f"{value_set}-values.yaml")] if value_set else []
        for key, val in overrides.items():
            args += ["--set-json", f"{key}={val}"]
        return args

    def template(self, value_set: str | None = None, **overrides: str) -> Result:
        """`helm template`; overrides are JSON values by dotted key (config.workers='2')."""
        return self.helm(
            "template", RELEASE, str(self.path), *self.values_args(value_set, overrides)
        )

    def render(self, value_set: str | None = None, **overrides: str) -> list[Manifest]:
        result = self.template(value_set, **overrides)
        assert result.code == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def one(manifests: list[Manifest], kind: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def kinds(manifests: list[Manifest]) -> set[str]:
    return {m["kind"] for m in manifests}
