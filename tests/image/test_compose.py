"""compose.yaml: its shape (no Docker here to run it) and, with the built image, its table job
and its health check run for real."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tools.local.dynalite import Dynalite
from tools.local.ports import free_port

from tests.image.conftest import Container
from tests.image.engine import TMPFS, podman, run_options
from tests.image.fargate import fargate_task

ROOT = Path(__file__).resolve().parents[2]
DIGEST = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    found: dict[str, Any] = compose["services"]
    return found


def test_service_is_built_from_the_dockerfile_at_the_repository_root(
    services: dict[str, Any],
) -> None:
    for name in ("app", "create-table"):
        assert services[name]["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
        assert services[name]["image"] == services["app"]["image"]
    assert (ROOT / services["app"]["build"]["dockerfile"]).is_file()


def test_pulled_images_are_pinned_by_digest(services: dict[str, Any]) -> None:
    pulled = [service["image"] for service in services.values() if "build" not in service]
    assert pulled
    assert all(DIGEST.match(image) for image in pulled), pulled


def test_service_runs_as_in_ecs(services: dict[str, Any]) -> None:
    app = services["app"]
    assert app["read_only"] is True
    assert app["tmpfs"] == [TMPFS]
    assert "volumes" not in app
    assert app["cap_drop"] == ["ALL"]
    assert app["environment"]["HELLO_STORAGE"] == "dynamodb"
    # The server may take drain (5 s) + shutdown timeout (20 s) after SIGTERM.
    assert app["stop_grace_period"] == f"{fargate_task().stop_timeout}s"


def test_service_is_published_on_loopback_only(services: dict[str, Any]) -> None:
    assert services["app"]["ports"] == ["127.0.0.1:8080:8080"]
    assert all("ports" not in services[name] for name in ("dynamodb", "create-table"))


def test_service_and_table_job_point_at_the_local_dynamodb(services: dict[str, Any]) -> None:
    endpoint = services["app"]["environment"]["AWS_ENDPOINT_URL_DYNAMODB"]
    assert endpoint == "http://dynamodb:8000"
    assert services["create-table"]["environment"]["AWS_ENDPOINT_URL_DYNAMODB"] == endpoint
    table = services["app"]["environment"]["HELLO_DYNAMODB_TABLE"]
    assert services["create-table"]["environment"]["HELLO_DYNAMODB_TABLE"] == table


def test_start_order_is_dynamodb_then_table_then_service(services: dict[str, Any]) -> None:
    assert services["create-table"]["depends_on"] == {"dynamodb": {"condition": "service_started"}}
    assert services["app"]["depends_on"] == {
        "create-table": {"condition": "service_completed_successfully"}
    }


def test_health_check_is_readiness(services: dict[str, Any]) -> None:
    test = services["app"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert "/readyz" in test[-1]


def test_table_job_creates_the_table_in_the_image(
    image: str, dynalite: Dynalite, services: dict[str, Any], tmp_path: Path
) -> None:
    job = services["create-table"]
    source, target, mode = job["volumes"][0].split(":")
    environment = {
        **job["environment"],
        "AWS_ENDPOINT_URL_DYNAMODB": dynalite.endpoint,
        "HELLO_DYNAMODB_TABLE": "compose-job",
    }
    options = ["--rm", *run_options(), "--read-only", "--read-only-tmpfs=false"]
    options += ["--cap-drop", "ALL"]
    options += ["--volume", f"{ROOT / source}:{target}:{mode}"]
    options += ["--entrypoint", job["entrypoint"][0]]
    for name, value in environment.items():
        options += ["--env", f"{name}={value}"]
    command = ["run", *options, image, *job["entrypoint"][1:]]
    first = podman(*command, timeout=300)
    again = podman(*command, timeout=300)
    assert "created table compose-job" in first.stdout
    assert "already exists" in again.stdout
    table = dynalite.client().describe_table(TableName="compose-job")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "username", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "username", "AttributeType": "S"}]


def test_health_check_passes_in_the_running_image(
    container: Container, services: dict[str, Any]
) -> None:
    check = services["app"]["healthcheck"]["test"]
    # compose's check talks to port 8080; the container under test listens on a free port.
    command = [part.replace(":8080/", f":{container.port}/") for part in check[1:]]
    assert podman("exec", container.name, *command, check=False).returncode == 0
    container.dynalite.client().delete_table(TableName=container.table)
    # Each worker caches its readiness probe for a second.
    deadline = time.monotonic() + 10
    while podman("exec", container.name, *command, check=False).returncode == 0:
        assert time.monotonic() < deadline, "still healthy without its table"
        time.sleep(0.5)


def test_table_job_gives_up_when_dynamodb_never_answers() -> None:
    environment = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{free_port()}",
        "CREATE_TABLE_WAIT_SECONDS": "1",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy/create-table.py")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "DynamoDB did not answer in 1s" in result.stderr
