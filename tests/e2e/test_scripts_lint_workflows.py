"""scripts/lint-workflows on a copy of the repository's .github, as committed and with one defect.

The copy keeps the real tree clean while each test adds what the linters must refuse.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BAD_WORKFLOW_HEAD = """\
name: bad
on:
  pull_request:
permissions: {}
jobs:
  bad:
    name: bad
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions:
      contents: read
    steps:
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "lint-workflows", tmp_path / "scripts" / "lint-workflows")
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    shutil.copy2(ROOT / ".yamllint.yaml", tmp_path / ".yamllint.yaml")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    # actionlint finds the workflows from the root of the git repository around them.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)
    return tmp_path


def lint(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(repo / "scripts" / "lint-workflows")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def add_workflow(repo: Path, steps: str) -> None:
    (repo / ".github" / "workflows" / "bad.yml").write_text(BAD_WORKFLOW_HEAD + steps)


def test_the_committed_workflows_pass(repo: Path) -> None:
    result = lint(repo)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "every action is pinned to a full commit SHA" in result.stdout


def test_an_action_pinned_to_a_tag_fails(repo: Path) -> None:
    add_workflow(repo, "      - uses: actions/checkout@v5\n")

    result = lint(repo)

    assert result.returncode == 1
    assert "bad.yml:13: not pinned to a commit SHA with a version comment" in result.stdout


def test_a_sha_without_its_version_comment_fails(repo: Path) -> None:
    add_workflow(repo, "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8\n")

    result = lint(repo)

    assert result.returncode == 1
    assert "bad.yml:13: not pinned" in result.stdout


def test_an_expression_in_a_script_fails(repo: Path) -> None:
    # The pull request's title is attacker-controlled; zizmor calls it template injection.
    add_workflow(repo, '      - run: echo "${{ github.event.pull_request.title }}"\n')

    result = lint(repo)

    assert result.returncode == 1
    assert "template-injection" in result.stdout + result.stderr


def test_a_shell_bug_in_a_run_script_fails(repo: Path) -> None:
    add_workflow(repo, "      - run: cd $RUNNER_TEMP/$(date +%s) && ls\n")

    result = lint(repo)

    assert result.returncode == 1
    assert "shellcheck reported issue" in result.stdout
