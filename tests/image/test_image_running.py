"""The built image running under podman as ECS runs it.

The tests share one container and run in file order: the last one stops it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tools.local.server import request

from tests.image.conftest import Container
from tests.image.engine import TMPFS, container_state, podman
from tests.image.fargate import fargate_task

SERVICE_UID = 10001
# The task definition's stopTimeout: podman stop waits this long before SIGKILL, as ECS does.
GRACE_SECONDS = fargate_task().stop_timeout
# Paths inside the container, where a write must be refused.
READ_ONLY = ["/", "/app", "/app/.venv", "/etc", "/run", "/var/tmp"]  # noqa: S108 - not host paths


def test_liveness_and_readiness_answer(container: Container) -> None:
    assert request(container.url + "/healthz").status == 200
    assert request(container.url + "/readyz").status == 200


def test_image_health_check_passes(container: Container) -> None:
    result = podman("healthcheck", "run", container.name, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_put_then_get_round_trip_through_dynamodb(container: Container) -> None:
    body = json.dumps({"dateOfBirth": "2000-01-01"}).encode()
    put = request(
        container.url + "/hello/Image",
        "PUT",
        body,
        {"Content-Type": "application/json"},
    )
    assert put.status == 204, put.body
    got = request(container.url + "/hello/Image")
    assert got.status == 200
    message = got.json()
    assert isinstance(message, dict)
    assert str(message["message"]).startswith("Hello, Image! ")
    stored = container.dynalite.client().get_item(
        TableName=container.table, Key={"username": {"S": "image"}}, ConsistentRead=True
    )
    assert stored["Item"]["dateOfBirth"] == {"S": "2000-01-01"}


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants, as the host sees them."""
    tree = [pid]
    for member in tree:
        for task in Path(f"/proc/{member}/task").iterdir():
            tree += [int(child) for child in (task / "children").read_text().split()]
    return tree


def test_every_process_runs_as_the_non_root_user(container: Container) -> None:
    tree = process_tree(container_state(container.name)["Pid"])
    assert len(tree) >= 3  # the supervisor, granian and its workers
    for pid in tree:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        uids = next(line.split()[1:] for line in status if line.startswith("Uid:"))
        gids = next(line.split()[1:] for line in status if line.startswith("Gid:"))
        assert uids == [str(SERVICE_UID)] * 4, (pid, uids)
        assert gids == [str(SERVICE_UID)] * 4, (pid, gids)


def test_root_filesystem_is_read_only_and_only_tmp_is_writable(container: Container) -> None:
    probe = (
        "import sys\n"
        "for directory in sys.argv[1:]:\n"
        "    try:\n"
        "        open(directory + '/probe', 'w').close()\n"
        "        print(directory, 'writable')\n"
        "    except OSError as error:\n"
        "        print(directory, error.errno)\n"
    )
    directories = [*READ_ONLY, TMPFS]
    result = podman("exec", container.name, "/app/.venv/bin/python", "-c", probe, *directories)
    outcome = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    # 30 is EROFS: refused because the filesystem is read-only, not for lack of permission.
    assert outcome == {**dict.fromkeys(READ_ONLY, "30"), TMPFS: "writable"}
    pid = container_state(container.name)["Pid"]
    root_mount = next(
        line.split()
        for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
        if line.split()[4] == "/"
    )
    assert "ro" in root_mount[5].split(",")


def test_sigterm_stops_it_cleanly_within_the_grace_period(container: Container) -> None:
    started = time.monotonic()
    # podman stop sends the image's STOPSIGNAL and kills only after the grace period.
    podman("stop", "--time", str(GRACE_SECONDS), container.name, timeout=GRACE_SECONDS + 30)
    elapsed = time.monotonic() - started
    state = container_state(container.name)
    assert not state["Running"]
    assert state["ExitCode"] == 0, container.logs()
    assert elapsed < GRACE_SECONDS, elapsed
    assert '"stopped"' in container.logs()
