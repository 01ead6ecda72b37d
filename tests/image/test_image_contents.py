"""What the built image declares and holds, read from its configuration and its filesystem."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from tests.image.engine import mounted_image

ROOT = Path(__file__).resolve().parents[2]
SITE_PACKAGES = Path("app/.venv/lib/python3.11/site-packages")


def test_runs_the_service_as_a_fixed_non_root_user(config: dict[str, Any]) -> None:
    assert config["User"] == "10001:10001"


def test_entrypoint_and_command_are_exec_form(config: dict[str, Any]) -> None:
    assert config["Entrypoint"] == ["/app/.venv/bin/hello-birthday"]
    assert config["Cmd"] == ["serve"]
    assert config["WorkingDir"] == "/app"


def test_stops_with_the_signal_the_server_drains_on(config: dict[str, Any]) -> None:
    assert config["StopSignal"] == "SIGTERM"


def test_listens_on_all_interfaces_port_8080_with_dynamodb(config: dict[str, Any]) -> None:
    environment = dict(entry.split("=", 1) for entry in config["Env"])
    assert environment["HELLO_HOST"] == "0.0.0.0"  # noqa: S104 - a container must accept traffic
    assert environment["HELLO_PORT"] == "8080"
    assert environment["HELLO_STORAGE"] == "dynamodb"
    assert environment["PYTHONDONTWRITEBYTECODE"] == "1"
    assert "8080/tcp" in config["ExposedPorts"]


def test_health_check_is_the_services_own_client(config: dict[str, Any]) -> None:
    health = config["Healthcheck"]
    assert health["Test"] == ["CMD", "/app/.venv/bin/hello-birthday", "healthcheck"]


def test_labels_name_source_revision_and_version(config: dict[str, Any]) -> None:
    labels = config["Labels"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert labels["org.opencontainers.image.version"] == project["version"]
    revision = labels["org.opencontainers.image.revision"]
    assert re.fullmatch("[0-9a-f]{40}", revision)
    # The commit the image was built from (HEAD may have moved on since).
    subprocess.run(["git", "cat-file", "-e", f"{revision}^{{commit}}"], cwd=ROOT, check=True)
    assert labels["org.opencontainers.image.source"]
    assert labels["org.opencontainers.image.licenses"] == project["license"]


def test_app_directory_holds_only_the_virtualenv(image: str) -> None:
    with mounted_image(image) as root:
        assert sorted(path.name for path in (root / "app").iterdir()) == [".venv"]


def test_no_build_tools_or_dev_dependencies(image: str) -> None:
    with mounted_image(image) as root:
        tools = ("uv", "uvx", "gcc", "cc", "make", "curl", "wget")
        present = [
            f"{directory}/{tool}"
            for directory in ("usr/local/bin", "usr/bin", "bin", "app/.venv/bin")
            for tool in tools
            if (root / directory / tool).exists()
        ]
        assert present == []
        installed = {path.name.split("-")[0].lower() for path in (root / SITE_PACKAGES).iterdir()}
        assert "flask" in installed
        assert installed.isdisjoint({"pytest", "mypy", "ruff", "hypothesis", "checkov", "uv"})


def test_package_is_installed_not_linked_to_a_source_tree(image: str) -> None:
    with mounted_image(image) as root:
        package = root / SITE_PACKAGES / "hello_birthday"
        assert (package / "__main__.py").is_file()
        assert not (root / "app/src").exists()
        assert list((root / SITE_PACKAGES).glob("*.pth")) == []
        assert not any(package.rglob("test*"))


def test_every_module_is_compiled_ahead_of_time(image: str) -> None:
    # The root filesystem is read-only at run time, so bytecode not built now is never cached.
    with mounted_image(image) as root:
        sources = list((root / SITE_PACKAGES).rglob("*.py"))
        missing = [
            str(source.relative_to(root))
            for source in sources
            if not Path(importlib.util.cache_from_source(str(source))).exists()
        ]
        assert len(sources) > 100
        assert missing == []


def test_code_is_owned_by_root_not_by_the_service_user(image: str) -> None:
    with mounted_image(image) as root:
        for path in (root / "app/.venv", root / SITE_PACKAGES / "hello_birthday/__init__.py"):
            assert path.stat().st_uid == 0
            assert path.stat().st_mode & 0o002 == 0
