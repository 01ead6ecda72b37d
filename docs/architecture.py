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
from diagrams.aws.compute import (  # type: ignore[import-untyped]
    ECR,
    ApplicationAutoScaling,
    ElasticContainerService,
    ElasticContainerServiceService,
)
from diagrams.aws.compute import Fargate as FargateTask
from diagrams.aws.database import DynamodbTable  # type: ignore[import-untyped]
from diagrams.aws.general import User, Users  # type: ignore[import-untyped]
from diagrams.aws.integration import SimpleNotificationServiceSnsTopic  # type: ignore[import-untyped]
from diagrams.aws.management import Cloudwatch, CloudwatchAlarm, CloudwatchLogs  # type: ignore[import-untyped]
from diagrams.aws.network import (  # type: ignore[import-untyped]
    ALB,
    Endpoint,
    InternetGateway,
    Route53,
    VPCFlowLogs,
)
from diagrams.aws.security import ACM, WAF, Cognito, IAMRole, KeyManagementService  # type: ignore[import-untyped]
from diagrams.aws.storage import SimpleStorageServiceS3Bucket  # type: ignore[import-untyped]
from diagrams.onprem.ci import GithubActions  # type: ignore[import-untyped]
from diagrams.onprem.container import Docker  # type: ignore[import-untyped]
from diagrams.onprem.vcs import Github  # type: ignore[import-untyped]
from diagrams.programming.flowchart import Action, Decision, StartEnd  # type: ignore[import-untyped]

DOCS = Path(__file__).resolve().parent
PNG_TEXT_KEY = "hello-birthday:dot-sha256"
# diagrams builds icon paths from its own install directory; the DOT we commit must not depend
# on where the virtualenv lives, so that prefix is cut off.
_ICON_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(diagrams.__file__))) + os.sep

GREY = "#7B8894"
ORANGE = "#E8710A"


def request(label: str = "") -> Any:
    return Edge(label=label, color="#1A73E8", style="bold")


def data(label: str = "") -> Any:
    return Edge(label=label, color="#188038", style="bold")


def control(label: str = "") -> Any:
    return Edge(label=label, color=GREY, style="dashed")


def telemetry(label: str = "") -> Any:
    return Edge(label=label, color=ORANGE, style="dashed")


def aside(label: str = "", color: str = GREY) -> Any:
    """A dashed edge that Graphviz may not use to rank nodes, so it cannot bend the layout."""
    return Edge(label=label, color=color, style="dashed", constraint="false")


@dataclass
class Canvas:
    """Collects, while a picture is drawn, which Terraform resource types each node stands for."""

    terraform: dict[str, list[str]] = field(default_factory=dict)

    def node(self, icon: Any, node_id: str, label: str, *terraform_types: str) -> Any:
        self.terraform[node_id] = sorted(terraform_types)
        return icon(label, nodeid=node_id)


def draw_architecture(c: Canvas) -> None:
    """Route 53 -> WAF -> ALB -> Fargate tasks in private subnets -> DynamoDB, and what runs it."""
    clients = c.node(Users, "clients", "API clients")
    with Cluster("GitHub"):
        actions = c.node(GithubActions, "github_actions", "GitHub Actions\ndeploy workflow")
    with Cluster("AWS, one region; one such stack per environment"):
        with Cluster("Entry"):
            dns = c.node(Route53, "route53", "Route 53\nalias record", "aws_route53_record")
            waf = c.node(
                WAF,
                "waf",
                "WAF web ACL\nrate limit + managed rules",
                "aws_wafv2_web_acl",
                "aws_wafv2_web_acl_association",
            )
            cert = c.node(ACM, "acm", "ACM certificate\n(DNS-validated)", "aws_acm_certificate")
            user_pool = c.node(
                Cognito,
                "cognito",
                "Cognito user pool\n(when enable_auth)",
                "aws_cognito_user_pool",
                "aws_cognito_user_pool_client",
                "aws_cognito_user_group",
            )
        with Cluster("VPC: 2 AZs in staging, 3 in prod"):
            with Cluster("Public subnets"):
                igw = c.node(InternetGateway, "igw", "Internet gateway", "aws_internet_gateway")
                alb = c.node(
                    ALB,
                    "alb",
                    "ALB\nHTTPS :443 (:80 redirects)",
                    "aws_lb",
                    "aws_lb_listener",
                    "aws_lb_target_group",
                )
            with Cluster("Private subnets, no route to the internet"):
                with Cluster("ECS cluster"):
                    service = c.node(
                        ElasticContainerServiceService,
                        "ecs_service",
                        "ECS service\nrolling + circuit breaker",
                        "aws_ecs_cluster",
                        "aws_ecs_service",
                    )
                    tasks = [
                        c.node(
                            FargateTask,
                            f"task_az_{zone}",
                            f"Fargate task (ARM64)\nAZ {zone}",
                            "aws_ecs_task_definition",
                        )
                        for zone in ("a", "b")
                    ]
                with Cluster("VPC endpoints"):
                    ddb_gateway = c.node(
                        Endpoint, "vpce_dynamodb", "DynamoDB\ngateway endpoint", "aws_vpc_endpoint"
                    )
                    s3_gateway = c.node(
                        Endpoint, "vpce_s3", "S3\ngateway endpoint", "aws_vpc_endpoint"
                    )
                    interface = c.node(
                        Endpoint,
                        "vpce_interface",
                        "Interface endpoints\necr.api, ecr.dkr, logs\n(+ cognito-idp)",
                        "aws_vpc_endpoint",
                    )
            flow_logs = c.node(VPCFlowLogs, "flow_logs", "VPC flow logs", "aws_flow_log")
        scaling = c.node(
            ApplicationAutoScaling,
            "autoscaling",
            "Application Auto Scaling\nCPU + requests per task",
            "aws_appautoscaling_target",
            "aws_appautoscaling_policy",
        )
        with Cluster("Data"):
            table = c.node(
                DynamodbTable, "dynamodb", "DynamoDB table\non-demand, PITR", "aws_dynamodb_table"
            )
            registry = c.node(
                ECR,
                "ecr",
                "ECR repository\nimmutable tags, scan on push",
                "aws_ecr_repository",
                "aws_ecr_lifecycle_policy",
            )
            access_logs = c.node(
                SimpleStorageServiceS3Bucket,
                "alb_logs",
                "S3 bucket\nALB access logs",
                "aws_s3_bucket",
            )
        with Cluster("Identity and keys"):
            roles = c.node(
                IAMRole,
                "task_roles",
                "Task role: the table only\nExecution role: pull + logs",
                "aws_iam_role",
                "aws_iam_role_policy",
            )
            deploy = c.node(
                IAMRole,
                "deploy_role",
                "GitHub OIDC provider\ndeploy role (per environment),\n"
                "read-only plan role\n(PRs, staging only)",
                "aws_iam_openid_connect_provider",
                "aws_iam_role",
            )
            key = c.node(KeyManagementService, "kms", "KMS key\nrotated yearly", "aws_kms_key")
            state = c.node(
                SimpleStorageServiceS3Bucket,
                "terraform_state",
                "Terraform state\nS3 + KMS (bootstrap)",
                "aws_s3_bucket",
                "aws_kms_key",
            )
        with Cluster("Observability"):
            logs = c.node(
                CloudwatchLogs,
                "logs",
                "CloudWatch Logs\napp, WAF, flow logs",
                "aws_cloudwatch_log_group",
            )
            metrics = c.node(
                Cloudwatch,
                "dashboard",
                "CloudWatch metrics\n+ dashboard",
                "aws_cloudwatch_dashboard",
            )
            alarms = c.node(
                CloudwatchAlarm, "alarms", "CloudWatch alarms\n(6)", "aws_cloudwatch_metric_alarm"
            )
            topic = c.node(
                SimpleNotificationServiceSnsTopic,
                "sns",
                "SNS topic\non-call email",
                "aws_sns_topic",
                "aws_sns_topic_subscription",
            )

    # The request path decides the layout; every other edge is drawn without moving it.
    clients >> request("DNS") >> dns
    clients >> request("HTTPS") >> waf >> request() >> alb
    alb >> request("HTTP :8080") >> tasks
    tasks >> data("GetItem, PutItem") >> ddb_gateway >> data() >> table
    # What keeps it running.
    igw - aside() - alb
    cert >> aside() >> alb
    clients >> aside("sign-in") >> user_pool
    scaling >> control() >> service >> control() >> tasks
    roles >> aside() >> service
    tasks >> control() >> interface >> control("image") >> registry
    tasks >> control() >> s3_gateway >> control("layers") >> registry
    interface >> aside("JWKS") >> user_pool
    # Telemetry.
    interface >> telemetry("logs") >> logs
    [waf, flow_logs] >> aside(color=ORANGE) >> logs
    alb >> telemetry() >> access_logs
    [alb, table] >> telemetry() >> metrics >> telemetry() >> alarms >> telemetry() >> topic
    metrics >> aside(color=ORANGE) >> scaling
    alarms >> aside("roll back deploy", color=ORANGE) >> service
    key >> aside("encrypts") >> [table, logs, topic, registry]
    # Delivery.
    actions >> control("OIDC") >> deploy
    deploy >> control("push") >> registry
    deploy >> aside("deploy") >> service
    deploy >> control("terraform apply") >> state


def draw_delivery_flow(c: Canvas) -> None:
    """PR -> checks -> build -> staging -> smoke/load -> approval -> prod -> smoke -> rollback."""
    pr = c.node(Github, "pull_request", "Pull request")
    checks = c.node(
        GithubActions,
        "checks",
        "Checks: pre-commit, make test,\nterraform validate + tflint,\n"
        "bandit + pip-audit,\nimage build + Trivy,\nstaging plan",
    )
    merge = c.node(StartEnd, "merge", "Merge to main")
    build = c.node(Docker, "build", "Build the image once\namd64 + arm64\nTrivy scan")
    with Cluster("deploy.yml, environment staging"):
        staging = c.node(ECR, "deploy_staging", "Push to ECR\nterraform apply\nimage_tag=SHA")
        staging_rollout = c.node(
            ElasticContainerService, "staging_rollout", "Rolling update\nwait until stable"
        )
        staging_checks = c.node(Decision, "staging_checks", "Smoke test\n+ load test")
    approval = c.node(User, "approval", "Approval\n(prod environment reviewers)")
    with Cluster("deploy.yml, environment prod"):
        prod = c.node(ECR, "deploy_prod", "Push the same digest\nterraform apply\nimage_tag=SHA")
        prod_rollout = c.node(
            ElasticContainerService, "prod_rollout", "Rolling update\nwait until stable"
        )
        prod_smoke = c.node(Decision, "prod_smoke", "Smoke test")
    released = c.node(StartEnd, "released", "Released")
    rollback = c.node(
        Action, "rollback", "scripts/rollback\nto the task definition\nthat ran before"
    )

    pr >> checks >> Edge(label="green") >> merge >> build >> staging >> staging_rollout
    staging_rollout >> staging_checks >> Edge(label="pass") >> approval
    approval >> Edge(label="approved") >> prod >> prod_rollout >> prod_smoke
    prod_smoke >> Edge(label="pass") >> released
    failed = "#D93025"
    [staging_rollout, staging_checks] >> Edge(label="fail", color=failed) >> rollback
    [prod_rollout, prod_smoke] >> Edge(label="fail", color=failed) >> rollback


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
        picture.title,
        direction=picture.direction,
        curvestyle="curved",
        show=False,
        graph_attr={"pad": "0.5", "splines": "spline", "nodesep": "0.5", "ranksep": "1.0"},
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
