"""Podman driven as the image tests need it, on a machine with no Docker engine.

Podman runs the image as Docker or ECS would (the image's user, entrypoint, stop signal and
health check), sharing buildah's storage. The options are those this kind of sandbox allows:
vfs storage, runc (crun refuses hybrid cgroups), cgroupfs, file events (no systemd), host
networking on a free loopback port, and modest open-file and process limits (podman's defaults
are higher than the runtime may set here).
"""

from __future__ import annotations

import json
import resource
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.image.fargate import fargate_task

PODMAN = [
    "podman",
    "--storage-driver",
    "vfs",
    "--runtime",
    "runc",
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
]

# The one writable path in the container: where the server keeps its runtime directory.
TMPFS = "/tmp"  # noqa: S108 - a path inside the container, a volume of its own


def podman(
    *arguments: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run one podman command and capture its output; a failure shows what podman said."""
    result = subprocess.run(
        [*PODMAN, *arguments], capture_output=True, text=True, check=False, timeout=timeout
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"podman {' '.join(arguments)} exited {result.returncode}:\n{result.stderr}"
        )
    return result


LIMITS = {"nofile": (resource.RLIMIT_NOFILE, 16384), "nproc": (resource.RLIMIT_NPROC, 8192)}


def limits() -> list[str]:
    """--ulimit options: ample for the service, and never above this process's own limits."""
    options = []
    for name, (limit, wanted) in LIMITS.items():
        hard = resource.getrlimit(limit)[1]
        value = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        options += ["--ulimit", f"{name}={value}:{value}"]
    return options


def run_options() -> list[str]:
    """Options every container here needs: the host's network (to reach dynalite on loopback),
    runtime limits it may set, and no health-check timer (no systemd; tests run the check)."""
    return ["--network", "host", *limits(), "--health-interval", "disable"]


def fargate_options(config: dict[str, Any], empty_dir: Path) -> list[str]:
    """Run options that make podman start the container as Fargate starts the task definition.

    The user, CPU and memory (prod's) and the stop timeout are read from the Terraform. The root
    filesystem is read-only and /tmp is the task's empty volume: Fargate gives it the owner and
    mode of the image's directory only when the image declares it a VOLUME (podman's anonymous
    volume copies them the same way), and otherwise mounts a root-owned 0755 directory, which
    `empty_dir` (made by root, bind-mounted as it is, never chowned) stands in for.
    """
    task = fargate_task()
    if TMPFS in (config.get("Volumes") or {}):
        tmp = ["--image-volume", "bind"]
    else:
        empty_dir.chmod(0o755)
        tmp = ["--volume", f"{empty_dir}:{TMPFS}"]
    return [
        "--read-only",
        "--read-only-tmpfs=false",
        *tmp,
        "--user",
        task.user,
        "--cpus",
        f"{task.cpu / 1024:g}",
        "--memory",
        f"{task.memory}m",
        "--stop-timeout",
        str(task.stop_timeout),
    ]


def image_config(image: str) -> dict[str, Any]:
    """The image's Docker-format configuration (User, Entrypoint, Healthcheck, Labels...)."""
    inspected: list[dict[str, Any]] = json.loads(podman("image", "inspect", image).stdout)
    config: dict[str, Any] = inspected[0]["Config"]
    # Podman reports the health check beside the rest of the configuration.
    config["Healthcheck"] = inspected[0]["Healthcheck"]
    return config


def image_size(image: str) -> int:
    """Bytes the image takes unpacked."""
    inspected: list[dict[str, Any]] = json.loads(podman("image", "inspect", image).stdout)
    size: int = inspected[0]["Size"]
    return size


@contextmanager
def mounted_image(image: str) -> Iterator[Path]:
    """The image's root filesystem, mounted on the host for inspection."""
    root = Path(podman("image", "mount", image).stdout.strip())
    try:
        yield root
    finally:
        podman("image", "unmount", image, check=False)


def container_state(name: str) -> dict[str, Any]:
    """The container's State (Pid, Running, ExitCode, Health...)."""
    inspected: list[dict[str, Any]] = json.loads(podman("container", "inspect", name).stdout)
    state: dict[str, Any] = inspected[0]["State"]
    return state
