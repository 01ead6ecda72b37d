"""scripts/rollback against a local ECS API (moto's server), run as the pipeline runs it.

ECS itself does not run here; moto's server speaks the same JSON protocol, so the script's
requests are validated by botocore and served over HTTP. moto never reports a service as
stable, which makes the "rollback did not settle" path testable too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from mypy_boto3_ecs import ECSClient

ROOT = Path(__file__).resolve().parents[2]
ROLLBACK = ROOT / "scripts" / "rollback"
REGION = "eu-west-1"
CLUSTER = "hello-birthday-staging"
SERVICE = "hello-birthday-staging"
FAMILY = "hello-birthday-staging"


@dataclass
class LocalEcs:
    endpoint: str
    client: ECSClient

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def ecs(moto_endpoint: str) -> LocalEcs:
    # moto keeps its state per process; every test starts from an empty account.
    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=10) as reply:
        assert reply.status == 200
    client = boto3.client(
        "ecs",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_cluster(clusterName=CLUSTER)
    return LocalEcs(moto_endpoint, client)


def register(ecs: LocalEcs, sha: str) -> str:
    registered = ecs.client.register_task_definition(
        family=FAMILY,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "app",
                "image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/hello-birthday:{sha}",
                "essential": True,
                "portMappings": [{"containerPort": 8080}],
            }
        ],
        tags=[{"key": "app", "value": "hello-birthday"}],
    )
    return registered["taskDefinition"]["taskDefinitionArn"]


def deploy(ecs: LocalEcs, *shas: str) -> list[str]:
    """Register one revision per image and run the service on the last one."""
    arns = [register(ecs, sha) for sha in shas]
    ecs.client.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=arns[-1],
        desiredCount=2,
        launchType="FARGATE",
    )
    return arns


def running(ecs: LocalEcs) -> str:
    service = ecs.client.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    return service["taskDefinition"]


def image_of(ecs: LocalEcs, arn: str) -> str:
    definition = ecs.client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return definition["containerDefinitions"][0]["image"]


def rollback(ecs: LocalEcs, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROLLBACK), "--cluster", CLUSTER, "--service", SERVICE, *args],
        env=ecs.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_rolls_back_to_the_recorded_task_definition(ecs: LocalEcs) -> None:
    good, bad = deploy(ecs, "a" * 40, "b" * 40)

    result = rollback(ecs, "--to", good, "--no-wait")

    assert result.returncode == 0, result.stdout + result.stderr
    assert running(ecs) == good
    assert f"rolling {SERVICE} back from {bad} to {good}" in result.stdout


def test_without_a_target_takes_the_previous_revision(ecs: LocalEcs) -> None:
    _, previous, _ = deploy(ecs, "a" * 40, "b" * 40, "c" * 40)

    result = rollback(ecs, "--no-wait")

    assert result.returncode == 0, result.stdout + result.stderr
    assert running(ecs) == previous


def test_a_deregistered_target_is_registered_again(ecs: LocalEcs) -> None:
    # Terraform deregisters the revision it replaces; ECS will not run an INACTIVE one.
    good, bad = deploy(ecs, "a" * 40, "b" * 40)
    ecs.client.deregister_task_definition(taskDefinition=good)

    result = rollback(ecs, "--to", good, "--no-wait")

    assert result.returncode == 0, result.stdout + result.stderr
    now = running(ecs)
    assert now not in {good, bad}
    assert now.endswith(f"task-definition/{FAMILY}:3")
    assert image_of(ecs, now) == image_of(ecs, good)
    tags = ecs.client.describe_task_definition(taskDefinition=now, include=["TAGS"])["tags"]
    assert tags == [{"key": "app", "value": "hello-birthday"}]
    assert "is INACTIVE; registered the same definition again" in result.stdout


def test_nothing_to_do_when_already_on_the_target(ecs: LocalEcs) -> None:
    (only,) = deploy(ecs, "a" * 40)

    result = rollback(ecs, "--to", only, "--no-wait")

    assert result.returncode == 0
    assert "nothing to roll back" in result.stdout
    assert running(ecs) == only


def test_fails_when_there_is_no_earlier_revision(ecs: LocalEcs) -> None:
    (only,) = deploy(ecs, "a" * 40)

    result = rollback(ecs, "--no-wait")

    assert result.returncode == 1
    assert f"ROLLBACK FAILED for {SERVICE}" in result.stderr
    assert "has no earlier revision" in result.stderr
    assert running(ecs) == only


def test_fails_for_an_unknown_service(ecs: LocalEcs) -> None:
    result = rollback(ecs, "--no-wait")

    assert result.returncode == 1
    assert f"service {SERVICE} not found" in result.stderr


def test_fails_loudly_when_the_service_does_not_settle(ecs: LocalEcs) -> None:
    good, _ = deploy(ecs, "a" * 40, "b" * 40)

    result = rollback(ecs, "--to", good, "--wait-minutes", "0.01")

    assert result.returncode == 1
    assert running(ecs) == good
    assert "did not become stable" in result.stderr
