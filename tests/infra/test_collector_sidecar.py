"""The metrics collector beside the service in every task: not essential, private, pinned.

The config the task runs is deploy/prometheus/collector.yml with three values replaced by
modules/ecs-service. The test applies the module's own patterns to the file and has promtool
(Debian's Prometheus, the same 2.x line as the pinned image) check the result, so a change to
either side that breaks the replacement fails here. The start script's derivation of the task
label runs for real, with a POSIX sh and wget (as the image's busybox has) against a local
stand-in for the ECS task metadata endpoint.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.terraform import (
    MODULES,
    ROOT,
    blocks_of,
    default,
    local,
    module_call,
    resource,
    value,
    variable,
)

ECS = MODULES / "ecs-service"
STACK = MODULES / "stack"
ECR = MODULES / "ecr"
COLLECTOR_YML = ROOT / "deploy" / "prometheus" / "collector.yml"

WRITE_URL = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234/api/v1/remote_write"
REGION = "eu-west-1"
PORT = "8181"


@pytest.fixture
def collector() -> dict[str, Any]:
    container: dict[str, Any] = local(ECS, "collector_container")
    return container


def test_the_collector_is_not_essential_and_the_service_does_not_wait_for_it(
    collector: dict[str, Any],
) -> None:
    assert collector["essential"] is False
    # ...and comes back by itself when it crashes.
    assert collector["restartPolicy"]["enabled"] is True
    service_container = local(ECS, "container_definition")
    assert service_container["essential"] is True
    assert "dependsOn" not in service_container
    # Only the service container is behind the load balancer.
    (target,) = blocks_of(resource(ECS, "aws_ecs_service", "this"), "load_balancer")
    assert value(target, "container_name") == "${local.container_name}"
    assert "portMappings" not in collector


def test_the_collector_has_its_own_small_share_of_the_task(collector: dict[str, Any]) -> None:
    assert collector["cpu"] == "${var.collector.cpu}"
    assert collector["memory"] == "${var.collector.memory}"
    declared = str(value(variable(ECS, "collector"), "type"))
    assert "'cpu': '${optional(number,64)}'" in declared
    assert "'memory': '${optional(number,128)}'" in declared
    environment = {e["name"]: e["value"] for e in collector["environment"]}
    assert environment["GOMEMLIMIT"] == "${floor(var.collector.memory * 0.8)}MiB"


def test_the_collector_is_read_only_unprivileged_and_logs_to_the_task_log_group(
    collector: dict[str, Any],
) -> None:
    assert collector["readonlyRootFilesystem"] is True
    assert collector["user"] == "65534:65534"
    assert collector["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert "privileged" not in collector
    options = collector["logConfiguration"]["options"]
    assert collector["logConfiguration"]["logDriver"] == "awslogs"
    assert options["awslogs-group"] == "${aws_cloudwatch_log_group.this.name}"
    assert options["awslogs-stream-prefix"] == "${local.collector_name}"
    # Its only writable path is the task volume its WAL and rendered config live on.
    (mount,) = collector["mountPoints"]
    assert mount["sourceVolume"] == "${local.collector_name}"
    volumes = blocks_of(resource(ECS, "aws_ecs_task_definition", "this"), "volume")
    assert {value(v, "name") for v in volumes} == {"tmp", "${local.collector_name}"}


def test_the_collector_runs_prometheus_in_agent_mode_on_loopback(collector: dict[str, Any]) -> None:
    assert collector["entryPoint"] == ["/bin/sh", "-c"]
    assert collector["command"] == ["${local.collector_script}"]
    script = str(local(ECS, "collector_script"))
    (start,) = [line for line in script.splitlines() if line.strip().startswith("exec ")]
    flags = start.split()[2:]
    assert start.split()[1] == "/bin/prometheus"
    assert "--agent" in flags
    assert "--web.listen-address=127.0.0.1:9090" in flags
    assert "--enable-feature=expand-external-labels" in flags
    mount = collector["mountPoints"][0]["containerPath"]
    assert f"--config.file={mount}/collector.yml" in flags
    assert f"--storage.agent.path={mount}/wal" in flags
    assert f"> {mount}/collector.yml" in script
    environment = {e["name"]: e["value"] for e in collector["environment"]}
    assert environment["COLLECTOR_CONFIG"] == "${local.collector_config}"
    # The task label collector.yml expects.
    assert "export COLLECTOR_TASK" in script
    assert "${COLLECTOR_TASK}" in COLLECTOR_YML.read_text()


def test_the_image_is_pulled_through_ecr_from_quay_pinned_by_digest() -> None:
    collector = value(module_call(STACK, "service"), "collector")
    assert collector["image"] == (
        "${module.ecr.pull_through_cache_url_prefix}/"
        "${local.collector_upstream_repository}@${var.collector_image_digest}"
    )
    assert local(STACK, "collector_upstream_repository") == "prometheus/prometheus"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", default(STACK, "collector_image_digest"))
    cache = value(module_call(STACK, "ecr"), "pull_through_cache")
    assert cache["upstream_registry_url"] == "quay.io"
    assert cache["prefix"] == "${local.name}-quay"
    rule = resource(ECR, "aws_ecr_pull_through_cache_rule", "this")
    assert value(rule, "upstream_registry_url") == "${var.pull_through_cache.upstream_registry_url}"
    assert "credential_arn" not in rule, "quay.io's public images need no credentials"
    # The module refuses an image that is not pinned by digest.
    (validation,) = blocks_of(variable(ECS, "collector"), "validation")
    assert "@sha256:[0-9a-f]{64}$" in value(validation, "condition")


@pytest.mark.skipif(shutil.which("promtool") is None, reason="make prometheus-tool installs it")
def test_the_pinned_image_is_the_major_version_the_config_is_checked_with() -> None:
    described = str(value(variable(STACK, "collector_image_digest"), "description"))
    (pinned,) = re.findall(r"\bv(\d+)\.\d+\.\d+\b", described)
    here = subprocess.run(["promtool", "--version"], capture_output=True, text=True, check=True)
    (major,) = re.findall(r"version (\d+)\.\d+\.\d+", here.stdout + here.stderr)
    assert pinned == major


def _replacements() -> list[tuple[str, str]]:
    """(pattern, replacement) of each replace() in local.collector_config, in order."""
    expression = str(local(ECS, "collector_config"))
    quoted = r'"((?:[^"\\]|\\.)*)"'
    pairs = re.findall(rf'"/((?:[^"\\]|\\.)*)/",\s*({quoted}|[\w.]+)\)', expression)
    substitutions = {
        "var.collector.remote_write_url": WRITE_URL,
        "${local.region}": REGION,
        "${var.task.container_port}": PORT,
    }
    result = []
    for pattern, replacement, _ in pairs:
        unquoted = replacement[1:-1] if replacement.startswith('"') else replacement
        text = re.sub(r"\\(.)", r"\1", unquoted)
        for reference, sample in substitutions.items():
            text = text.replace(reference, sample)
        result.append((re.sub(r"\\(.)", r"\1", pattern), text))
    return result


def _rendered() -> str:
    text = COLLECTOR_YML.read_text()
    replacements = _replacements()
    assert len(replacements) == 3
    for pattern, replacement in replacements:
        # A plain string as replacement would read backslashes in it as escapes.
        text, count = re.subn(pattern, lambda _: replacement, text)  # noqa: B023 - used at once
        assert count == 1, f"{pattern} matches collector.yml {count} times, not once"
    return text


def test_the_task_config_writes_to_the_workspace_and_scrapes_the_service_port() -> None:
    config = yaml.safe_load(_rendered())
    (remote_write,) = config["remote_write"]
    assert remote_write["url"] == WRITE_URL
    assert remote_write["sigv4"] == {"region": REGION}
    (job,) = config["scrape_configs"]
    assert job["static_configs"] == [{"targets": [f"127.0.0.1:{PORT}"]}]
    assert job["metrics_path"] == "/metrics"
    wiring = value(module_call(STACK, "service"), "collector")
    assert wiring["remote_write_url"] == "${module.prometheus.remote_write_url}"
    assert (
        wiring["config"] == '${file("${path.module}/../../../../deploy/prometheus/collector.yml")}'
    )
    assert (STACK / "../../../../deploy/prometheus/collector.yml").resolve() == COLLECTOR_YML


@pytest.mark.skipif(shutil.which("promtool") is None, reason="make prometheus-tool installs it")
def test_promtool_accepts_the_config_the_task_runs(tmp_path: Path) -> None:
    path = tmp_path / "collector.yml"
    path.write_text(_rendered())
    checked = subprocess.run(
        ["promtool", "check", "config", "--agent", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


TASK_ARN = (
    "arn:aws:ecs:eu-west-1:111122223333:task/hello-birthday-prod/158d1c8083dd49d6b527399fd6414f5c"
)


class _Metadata(BaseHTTPRequestHandler):
    """The ECS task metadata endpoint v4's /task document (the fields the script reads)."""

    pretty = False

    def do_GET(self) -> None:
        if self.path != "/v4/abc/task":
            self.send_error(404)
            return
        document = {"Cluster": "hello-birthday-prod", "TaskARN": TASK_ARN, "Family": "x"}
        body = json.dumps(document, indent=2 if self.pretty else None).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(params=[False, True], ids=["compact", "indented"])
def metadata(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Handler", (_Metadata,), {"pretty": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v4/abc"
    server.shutdown()
    server.server_close()


def _task_label(metadata_uri: str) -> str:
    """Run the script's lines up to the export of the task label with a POSIX sh and wget."""
    script = str(local(ECS, "collector_script")).replace("$${", "${")
    lines = script.splitlines()
    head = lines[: next(i for i, line in enumerate(lines) if "export COLLECTOR_TASK" in line) + 1]
    done = subprocess.run(
        ["sh", "-c", "\n".join([*head, 'printf "%s" "$COLLECTOR_TASK"'])],
        env={"PATH": "/usr/bin:/bin", "ECS_CONTAINER_METADATA_URI_V4": metadata_uri},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(shutil.which("wget") is None, reason="the image's busybox has wget; so must we")
def test_the_task_label_is_the_task_id_from_the_metadata_endpoint(metadata: str) -> None:
    assert _task_label(metadata) == TASK_ARN.rsplit("/", 1)[1]


@pytest.mark.skipif(shutil.which("wget") is None, reason="the image's busybox has wget; so must we")
def test_without_metadata_the_task_label_falls_back_to_the_host_name(metadata: str) -> None:
    assert _task_label(metadata.replace("/v4/abc", "/gone")) == socket.gethostname()
