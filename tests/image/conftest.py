"""Fixtures for the tests of the built image; `make image-test` builds it and sets HELLO_IMAGE."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tools.local.dynalite import Dynalite
from tools.local.ports import free_port
from tools.local.server import request

from tests.image.engine import container_state, fargate_options, image_config, podman, run_options


@pytest.fixture(scope="session")
def image() -> str:
    """The image under test, as built by scripts/image-test."""
    reference = os.environ.get("HELLO_IMAGE")
    if not reference:
        pytest.skip("HELLO_IMAGE is not set: `make image-test` builds the image and runs these")
    return reference


@pytest.fixture(scope="session")
def config(image: str) -> dict[str, Any]:
    """The image's configuration."""
    return image_config(image)


@dataclass
class Container:
    """The image running detached under podman, listening on a loopback port."""

    name: str
    port: int
    dynalite: Dynalite
    table: str

    @property
    def url(self) -> str:
        """Base URL of the service in the container."""
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        """Everything the container wrote."""
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr


@pytest.fixture(scope="module")
def container(
    image: str,
    config: dict[str, Any],
    dynalite: Dynalite,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Container]:
    """The image started as Fargate starts the task definition: its user, entrypoint and command,
    limits and stop timeout; a read-only root filesystem with /tmp the task's empty volume
    (podman's extra tmpfs mounts turned off so that nothing else is writable); production storage
    (DynamoDB, here dynalite)."""
    suffix = uuid.uuid4().hex[:8]
    running = Container(f"hello-image-test-{suffix}", free_port(), dynalite, f"hello-{suffix}")
    dynalite.create_table(running.table)
    environment = {**dynalite.environment(running.table), "HELLO_PORT": str(running.port)}
    environment["HELLO_WORKERS"] = "2"
    options = ["--detach", "--name", running.name, *run_options()]
    options += fargate_options(config, tmp_path_factory.mktemp("fargate-volume"))
    for name, value in environment.items():
        options += ["--env", f"{name}={value}"]
    try:
        podman("run", *options, image, timeout=300)
        wait_until_ready(running)
        yield running
    finally:
        podman("rm", "--force", "--time", "0", running.name, check=False)


def wait_until_ready(running: Container, timeout: float = 60) -> None:
    """Wait for /readyz to answer 200, or fail with the container's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not container_state(running.name)["Running"]:
            pytest.fail(f"the container exited while starting:\n{running.logs()}")
        try:
            if request(running.url + "/readyz", timeout=1).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the container was not ready in {timeout}s:\n{running.logs()}")
