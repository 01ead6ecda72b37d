"""The system diagrams, as code: the deployed AWS system and the delivery flow.

    python docs/architecture.py render [DIR]   # PNGs + normalised DOT sources (needs Graphviz)
    python docs/architecture.py dot DIR        # only the DOT sources (no Graphviz needed)
    python docs/architecture.py components     # JSON: diagram node -> Terraform resource types

`make diagram` runs `render`. Each PNG carries the SHA-256 of the DOT source it was drawn from in
a tEXt chunk, so tests/docs can tell a stale picture from a fresh one without Graphviz: PNG bytes
differ between Graphviz versions, the DOT source does not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diagrams  # type: ignore[import-untyped]
from diagrams import Cluster, Diagram, Edge
from diagrams.aws.compute import ECR, ApplicationAutoScaling, ElasticContainerServiceService  # type: ignore[import-untyped]
from diagrams.aws.compute import Fargate as FargateTask
from diagrams.aws.database import DynamodbTable  # type: ignore[import-untyped]
from diagrams.aws.general import Users  # type: ignore[import-untyped]
from diagrams.aws.integration import SimpleNotificationServiceSnsTopic  # type: ignore[import-untyped]
from diagrams.aws.management import Cloudwatch, CloudwatchAlarm, CloudwatchLogs  # type: ignore[import-untyped]
from diagrams.aws.network import (  # type: ignore[import-untyped]
    ALB,
    Endpoint,
    InternetGateway,
    NATGateway,
    Route53,
)
from diagrams.aws.security import ACM, WAF, IAMRole, KeyManagementService  # type: ignore[import-untyped]
from diagrams.onprem.ci import GithubActions  # type: ignore[import-untyped]
from diagrams.onprem.vcs import Github  # type: ignore[import-untyped]
from diagrams.programming.flowchart import Action, Decision, StartEnd  # type: ignore[import-untyped]

DOCS = Path(__file__).resolve().parent
PNG_TEXT_KEY = "hello-birthday:dot-sha256"
# diagrams builds icon paths from its own install directory; the DOT we commit must not depend
# on where the virtualenv lives, so that prefix is cut off.
_ICON_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(diagrams.__file__))) + os.sep


def request(label: str = "") -> Any:
    return Edge(label=label, color="#1A73E8", style="bold")


def data(label: str = "") -> Any:
    return Edge(label=label, color="#188038", style="bold")


def control(label: str = "") -> Any:
    return Edge(label=label, color="#7B8894", style="dashed")


def telemetry(label: str = "") -> Any:
    return Edge(label=label, color="#E8710A", style="dashed")


@dataclass
class Canvas:
    """Collects, while a picture is drawn, which Terraform resource types each node stands for."""

    terraform: dict[str, list[str]] = field(default_factory=dict)

    def node(self, icon: Any, node_id: str, label: str, *terraform_types: str) -> Any:
        self.terraform[node_id] = sorted(terraform_types)
        return icon(label, nodeid=node_id)


def draw_architecture(c: Canvas) -> None:
    """Route 53 -> WAF -> ALB -> Fargate tasks in private subnets -> DynamoDB, and what runs it."""
    users = c.node(Users, "clients", "API clients")
    with Cluster("GitHub"):
        actions = c.node(GithubActions, "github_actions", "GitHub Actions\n(deploy workflow)")
    with Cluster("AWS account (one per environment)"):
        dns = c.node(Route53, "route53", "Route 53\nalias record", "aws_route53_record")
        waf = c.node(
            WAF,
            "waf",
            "WAF web ACL\n(managed rules,\nrate limit)",
            "aws_wafv2_web_acl",
            "aws_wafv2_web_acl_association",
        )
        cert = c.node(ACM, "acm", "ACM certificate", "aws_acm_certificate")
        oidc = c.node(
            IAMRole,
            "deploy_role",
            "OIDC provider +\ndeploy role",
            "aws_iam_openid_connect_provider",
        )
        registry = c.node(
            ECR, "ecr", "ECR repository\n(immutable tags,\nscan on push)", "aws_ecr_repository"
        )
        key = c.node(KeyManagementService, "kms", "KMS key", "aws_kms_key")
        with Cluster("VPC (2 AZs)"):
            igw = c.node(InternetGateway, "igw", "Internet gateway", "aws_internet_gateway")
            with Cluster("Public subnets"):
                alb = c.node(
                    ALB,
                    "alb",
                    "ALB\nHTTPS :443",
                    "aws_lb",
                    "aws_lb_listener",
                    "aws_lb_target_group",
                )
                nat = c.node(NATGateway, "nat", "NAT gateway", "aws_nat_gateway")
            with Cluster("Private subnets"):
                with Cluster("ECS cluster"):
                    service = c.node(
                        ElasticContainerServiceService,
                        "ecs_service",
                        "ECS service\n(rolling, circuit breaker)",
                        "aws_ecs_cluster",
                        "aws_ecs_service",
                        "aws_ecs_task_definition",
                    )
                    task_a = c.node(FargateTask, "task_az_a", "Fargate task\nAZ a")
                    task_b = c.node(FargateTask, "task_az_b", "Fargate task\nAZ b")
                scaling = c.node(
                    ApplicationAutoScaling,
                    "autoscaling",
                    "Application Auto Scaling\n(target tracking)",
                    "aws_appautoscaling_target",
                    "aws_appautoscaling_policy",
                )
                ddb_endpoint = c.node(
                    Endpoint, "vpce_dynamodb", "DynamoDB\ngateway endpoint", "aws_vpc_endpoint"
                )
        table = c.node(
            DynamodbTable, "dynamodb", "DynamoDB table\n(on-demand, PITR)", "aws_dynamodb_table"
        )
        with Cluster("Observability"):
            logs = c.node(CloudwatchLogs, "logs", "CloudWatch Logs", "aws_cloudwatch_log_group")
            metrics = c.node(
                Cloudwatch,
                "dashboard",
                "CloudWatch metrics\n+ dashboard",
                "aws_cloudwatch_dashboard",
            )
            alarms = c.node(
                CloudwatchAlarm, "alarms", "CloudWatch alarms", "aws_cloudwatch_metric_alarm"
            )
            topic = c.node(
                SimpleNotificationServiceSnsTopic, "sns", "SNS topic\n(on-call)", "aws_sns_topic"
            )

    users >> request() >> dns
    users >> request("HTTPS") >> igw >> request() >> waf >> request() >> alb
    cert >> control() >> alb
    alb >> request() >> [task_a, task_b]
    service >> control() >> [task_a, task_b]
    scaling >> control() >> service
    [task_a, task_b] >> data() >> ddb_endpoint >> data() >> table
    [task_a, task_b] >> control() >> nat
    registry >> control("image pull") >> nat
    [task_a, task_b] >> telemetry() >> logs
    [alb, service, table, waf] >> telemetry() >> metrics
    metrics >> telemetry() >> alarms >> telemetry() >> topic
    alarms >> telemetry() >> scaling
    key >> control() >> [table, logs, topic, registry]
    actions >> control("OIDC, no stored keys") >> oidc
    oidc >> control() >> [registry, service]


def draw_delivery_flow(c: Canvas) -> None:
    """PR -> checks -> build -> staging -> smoke/load -> approval -> prod -> smoke -> rollback."""
    pr = c.node(Github, "pull_request", "Pull request")
    checks = c.node(GithubActions, "checks", "Checks\nlint, types, tests,\ninfra + image checks")
    merge = c.node(StartEnd, "merge", "Merge to main")
    build = c.node(Action, "build", "Build image once\npush to ECR by digest")
    staging = c.node(Action, "deploy_staging", "Deploy staging\n(ECS rolling update)")
    verify = c.node(Decision, "staging_checks", "Smoke + load test\non staging")
    approval = c.node(Decision, "approval", "Manual approval\n(production environment)")
    prod = c.node(Action, "deploy_prod", "Deploy prod\n(same digest)")
    smoke = c.node(Decision, "prod_smoke", "Smoke test\non prod")
    done = c.node(StartEnd, "released", "Released")
    rollback = c.node(Action, "rollback", "scripts/rollback\nprevious task definition")

    pr >> checks >> Edge(label="green") >> merge >> build >> staging >> verify
    verify >> Edge(label="pass") >> approval >> Edge(label="approve") >> prod >> smoke
    smoke >> Edge(label="pass") >> done
    verify >> Edge(label="fail", color="#D93025") >> rollback
    smoke >> Edge(label="fail", color="#D93025") >> rollback


@dataclass(frozen=True)
class Picture:
    name: str
    title: str
    direction: str
    draw: Callable[[Canvas], None]


PICTURES = (
    Picture("architecture", "Hello Birthday on AWS", "LR", draw_architecture),
    Picture("delivery-flow", "Hello Birthday delivery flow", "LR", draw_delivery_flow),
)


@contextmanager
def _diagram(picture: Picture) -> Iterator[Any]:
    # Entered by hand: Diagram.__exit__ always renders with the dot binary, and the DOT source
    # has to be available without Graphviz.
    diagram = Diagram(
        picture.title, direction=picture.direction, show=False, graph_attr={"pad": "0.5"}
    )
    diagrams.setdiagram(diagram)
    try:
        yield diagram
    finally:
        diagrams.setdiagram(None)


def build(picture: Picture) -> tuple[Any, Canvas]:
    """The graphviz.Digraph of a picture and its node -> Terraform map."""
    canvas = Canvas()
    with _diagram(picture) as diagram:
        picture.draw(canvas)
    return diagram.dot, canvas


def normalised_dot(digraph: Any) -> str:
    return str(digraph.source).replace(_ICON_ROOT, "")


def dot_digest(dot_source: str) -> str:
    return hashlib.sha256(dot_source.encode()).hexdigest()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def stamp_png(png: bytes, digest: str) -> bytes:
    """Insert a tEXt chunk with the DOT digest right after IHDR (which must come first)."""
    ihdr_end = 8 + 4 + 4 + 13 + 4
    text = _png_chunk(b"tEXt", PNG_TEXT_KEY.encode("latin-1") + b"\0" + digest.encode())
    return png[:ihdr_end] + text + png[ihdr_end:]


def png_text(png: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG, keyword -> text."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    texts: dict[str, str] = {}
    offset = 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        if kind == b"tEXt":
            keyword, _, text = data.partition(b"\0")
            texts[keyword.decode("latin-1")] = text.decode("latin-1")
        offset += 12 + length
    return texts


def write_dot(out_dir: Path) -> None:
    for picture in PICTURES:
        digraph, _ = build(picture)
        (out_dir / f"{picture.name}.dot").write_text(normalised_dot(digraph))


def render(out_dir: Path) -> None:
    for picture in PICTURES:
        digraph, _ = build(picture)
        dot_source = normalised_dot(digraph)
        png = digraph.pipe(format="png", quiet=True)
        (out_dir / f"{picture.name}.png").write_bytes(stamp_png(png, dot_digest(dot_source)))
        (out_dir / f"{picture.name}.dot").write_text(dot_source)
        print(f"wrote {out_dir / picture.name}.png and .dot")


def components() -> dict[str, dict[str, list[str]]]:
    return {picture.name: build(picture)[1].terraform for picture in PICTURES}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    render_cmd = commands.add_parser("render", help="draw the PNGs and their DOT sources")
    render_cmd.add_argument("out_dir", nargs="?", type=Path, default=DOCS)
    dot_cmd = commands.add_parser("dot", help="write only the DOT sources")
    dot_cmd.add_argument("out_dir", type=Path)
    commands.add_parser("components", help="print node -> Terraform resource types as JSON")
    args = parser.parse_args(argv)
    if args.command == "render":
        render(args.out_dir)
    elif args.command == "dot":
        write_dot(args.out_dir)
    else:
        json.dump(components(), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
