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
    Lambda,
)
from diagrams.aws.compute import Fargate as FargateTask
from diagrams.aws.database import DynamodbTable  # type: ignore[import-untyped]
from diagrams.aws.general import User, Users  # type: ignore[import-untyped]
from diagrams.aws.integration import SimpleNotificationServiceSnsTopic  # type: ignore[import-untyped]
from diagrams.aws.management import (  # type: ignore[import-untyped]
    AmazonManagedPrometheus,
    Cloudwatch,
    CloudwatchAlarm,
    CloudwatchLogs,
)
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

# One colour per kind of edge, the same in every picture; each legend names the kinds drawn.
REQUEST = ("#1A73E8", "solid", "a request and the call it makes")
CONTROL = ("#5F6368", "solid", "changes or starts something")
IMAGE = ("#9334E6", "dashed", "container image pulled")
LOGS = ("#E8710A", "dashed", "log lines written")
METRICS = ("#188038", "solid", "metrics read")
ALERT = ("#D93025", "bold", "alarm fires")
MAY_TOUCH = ("#5F6368", "solid", "IAM role may call")
ENCRYPTS = ("#B06000", "dashed", "KMS key encrypts")

EdgeKind = tuple[str, str, str]


def edge(kind: EdgeKind, **attrs: str) -> Any:
    colour, style, _ = kind
    return Edge(color=colour, style=style, penwidth="2", **attrs)


def legend(*kinds: EdgeKind) -> None:
    """A key of the edge kinds drawn, as one text node: no edge of its own to get in the way."""
    rows = "".join(
        f'<TR><TD ALIGN="LEFT"><FONT COLOR="{colour}" POINT-SIZE="16">'
        f"{'- - - - -' if style == 'dashed' else '&#8212;&#8212;&#8212;'}</FONT></TD>"
        f'<TD ALIGN="LEFT">{meaning}</TD></TR>'
        for colour, style, meaning in kinds
    )
    table = (
        '<<TABLE BORDER="1" COLOR="#BDC1C6" CELLBORDER="0" CELLSPACING="2" CELLPADDING="4">'
        f'<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>{rows}</TABLE>>'
    )
    with Cluster("Key"):
        # diagrams gives every node a fixed icon-sized box; the key sizes to its text.
        diagrams.getcluster().dot.node(
            "legend", label=table, shape="plaintext", fixedsize="false", width="0", height="0"
        )


@dataclass
class Canvas:
    """Collects, while a picture is drawn, which Terraform resource types each node stands for."""

    terraform: dict[str, list[str]] = field(default_factory=dict)

    def node(self, icon: Any, node_id: str, label: str, *terraform_types: str) -> Any:
        self.terraform[node_id] = sorted(terraform_types)
        return icon(label, nodeid=node_id)


AZS = ("a", "b", "c")


def draw_request_path(c: Canvas) -> None:
    """How does a request reach the data? Client -> edge -> ALB -> tasks -> endpoint -> table."""
    clients = c.node(Users, "clients", "API clients")
    with Cluster("AWS, one region (one stack per environment)"):
        dns = c.node(Route53, "route53", "Route 53\nalias record", "aws_route53_record")
        waf = c.node(
            WAF,
            "waf",
            "WAF web ACL\nrate limit + managed rules\n/metrics answered 404",
            "aws_wafv2_web_acl",
            "aws_wafv2_web_acl_association",
        )
        with Cluster("VPC: 2 AZs in staging, 3 in prod"):
            with Cluster("Public subnets"):
                alb = c.node(
                    ALB,
                    "alb",
                    "ALB, HTTPS :443\n(:80 redirects)\n2 target groups :8080\n"
                    "rules: production\n(ECS's weights),\ntest (keyed header)",
                    "aws_lb",
                    "aws_lb_listener",
                    "aws_lb_listener_rule",
                    "aws_lb_target_group",
                )
            with Cluster("Private subnets, no route to the internet"):
                tasks = []
                for zone in AZS:
                    with Cluster(f"AZ {zone}" + (" (prod)" if zone == "c" else "")):
                        tasks.append(
                            c.node(
                                FargateTask,
                                f"task_az_{zone}",
                                "Fargate task\nARM64",
                                "aws_ecs_task_definition",
                            )
                        )
                gateway = c.node(
                    Endpoint,
                    "vpce_dynamodb",
                    "DynamoDB\ngateway endpoint",
                    "aws_vpc_endpoint",
                )
        table = c.node(
            DynamodbTable,
            "dynamodb",
            "DynamoDB table\nGetItem / PutItem\non-demand, PITR",
            "aws_dynamodb_table",
        )
        # Outside the VPC: it tests the public endpoint exactly as clients reach it.
        hook = c.node(
            Lambda,
            "smoke_hook",
            "Smoke hook (Lambda)\nsmoke test with the test key,\nbefore production traffic",
            "aws_lambda_function",
        )
    legend(REQUEST)

    clients >> edge(REQUEST) >> dns
    clients >> edge(REQUEST) >> waf >> edge(REQUEST) >> alb
    hook >> edge(REQUEST) >> waf
    alb >> edge(REQUEST) >> tasks
    tasks >> edge(REQUEST) >> gateway >> edge(REQUEST) >> table


def draw_control_plane(c: Canvas) -> None:
    """How does a commit become running tasks? Pipeline -> OIDC role -> ECR, state, ECS."""
    with Cluster("GitHub"):
        actions = c.node(GithubActions, "github_actions", "GitHub Actions\ndeploy workflow")
    with Cluster("AWS account"):
        with Cluster("Identity"):
            oidc = c.node(
                IAMRole,
                "oidc_provider",
                "GitHub OIDC provider",
                "aws_iam_openid_connect_provider",
            )
            deploy = c.node(
                IAMRole,
                "deploy_role",
                "Deploy role per environment\n(read-only plan role for PRs)",
                "aws_iam_role",
                "aws_iam_role_policy",
            )
        state = c.node(
            SimpleStorageServiceS3Bucket,
            "terraform_state",
            "Terraform state\nS3 + KMS (bootstrap)",
            "aws_s3_bucket",
            "aws_kms_key",
        )
        registry = c.node(
            ECR,
            "ecr",
            "ECR repository\nimmutable tags, scan on push\n"
            "+ pull-through cache of quay.io\n(collector image, by digest)",
            "aws_ecr_repository",
            "aws_ecr_lifecycle_policy",
            "aws_ecr_pull_through_cache_rule",
        )
        with Cluster("ECS cluster"):
            service = c.node(
                ElasticContainerServiceService,
                "ecs_service",
                "ECS service\ncanary, then bake;\ncircuit breaker,\nalarm rollback",
                "aws_ecs_cluster",
                "aws_ecs_service",
            )
            tasks = c.node(
                FargateTask,
                "tasks",
                "Fargate tasks\n(new task definition)",
                "aws_ecs_task_definition",
            )
        target_group = c.node(
            ALB,
            "target_group",
            "ALB: two target groups,\nproduction + test rules;\nECS's role shifts the weights",
            "aws_lb_target_group",
            "aws_lb_listener_rule",
        )
        hook = c.node(
            Lambda,
            "smoke_hook",
            "Smoke hook (Lambda)\nafter the test traffic shift:\nSUCCEEDED or roll back",
            "aws_lambda_function",
        )
        with Cluster("VPC endpoints"):
            interface = c.node(
                Endpoint, "vpce_ecr", "ecr.api, ecr.dkr\ninterface endpoints", "aws_vpc_endpoint"
            )
            s3_gateway = c.node(
                Endpoint, "vpce_s3", "S3 gateway endpoint\n(image layers)", "aws_vpc_endpoint"
            )
        scaling = c.node(
            ApplicationAutoScaling,
            "autoscaling",
            "Application Auto Scaling\nCPU + requests per task",
            "aws_appautoscaling_target",
            "aws_appautoscaling_policy",
        )
        alarms = c.node(
            CloudwatchAlarm,
            "deployment_alarms",
            "Deployment alarms\n5xx rate, p99 latency:\n"
            "the ALB's (rollout guards)\nand each target group's",
            "aws_cloudwatch_metric_alarm",
        )
    legend(CONTROL, IMAGE)

    actions >> edge(CONTROL) >> oidc >> edge(CONTROL) >> deploy
    deploy >> edge(CONTROL) >> [state, registry, service]
    service >> edge(CONTROL) >> [tasks, target_group, hook]
    scaling >> edge(CONTROL) >> service
    alarms >> edge(CONTROL) >> service
    registry >> edge(IMAGE) >> [interface, s3_gateway]
    [interface, s3_gateway] >> edge(IMAGE) >> tasks


ALARMS = (
    "availability burn: fast, slow, ticket",
    "latency burn: fast, slow, ticket",
    "5xx rate, p99 latency (rollout guards)",
    "unhealthy hosts",
    "no healthy targets",
    "running below desired",
    "DynamoDB throttles",
    "DynamoDB system errors",
)


def draw_observability(c: Canvas) -> None:
    """What is watched, and who is told? Sources -> logs and metrics -> alarms -> SNS."""
    with Cluster("Sources"):
        waf = c.node(WAF, "waf", "WAF web ACL", "aws_wafv2_web_acl")
        alb = c.node(ALB, "alb", "ALB", "aws_lb")
        tasks = c.node(
            FargateTask,
            "tasks",
            "Fargate tasks\n(JSON request lines;\ncollector sidecar scrapes\n/metrics on loopback)",
            "aws_ecs_task_definition",
        )
        flow_logs = c.node(VPCFlowLogs, "flow_logs", "VPC flow logs", "aws_flow_log")
        table = c.node(DynamodbTable, "dynamodb", "DynamoDB table", "aws_dynamodb_table")
    with Cluster("Stored"):
        logs = c.node(
            CloudwatchLogs,
            "logs",
            "CloudWatch Logs\napp + collector, WAF,\nflow logs, workspace",
            "aws_cloudwatch_log_group",
        )
        access_logs = c.node(
            SimpleStorageServiceS3Bucket, "alb_logs", "S3 bucket\nALB access logs", "aws_s3_bucket"
        )
        metrics = c.node(
            Cloudwatch, "dashboard", "CloudWatch metrics\n+ dashboard", "aws_cloudwatch_dashboard"
        )
        endpoint = c.node(
            Endpoint, "vpce_aps", "aps-workspaces\ninterface endpoint", "aws_vpc_endpoint"
        )
        workspace = c.node(
            AmazonManagedPrometheus,
            "prometheus",
            "Managed Prometheus workspace\nrules.yml (SLO burn rates, causes)\n+ alert manager",
            "aws_prometheus_workspace",
            "aws_prometheus_rule_group_namespace",
            "aws_prometheus_alert_manager_definition",
        )
    alarms = c.node(
        CloudwatchAlarm,
        "alarms",
        f"CloudWatch alarms ({len(ALARMS)} kinds)\n" + "\n".join(ALARMS),
        "aws_cloudwatch_metric_alarm",
        "aws_cloudwatch_composite_alarm",
    )
    scaling = c.node(
        ApplicationAutoScaling,
        "autoscaling",
        "Application Auto Scaling\nCPU + requests per task",
        "aws_appautoscaling_target",
        "aws_appautoscaling_policy",
    )
    topic = c.node(
        SimpleNotificationServiceSnsTopic,
        "sns",
        "SNS topic\non-call email\n(alarms + Prometheus alerts)",
        "aws_sns_topic",
        "aws_sns_topic_policy",
        "aws_sns_topic_subscription",
    )
    legend(LOGS, METRICS, ALERT)

    [waf, tasks, flow_logs, workspace] >> edge(LOGS) >> logs
    alb >> edge(LOGS) >> access_logs
    [alb, tasks, table] >> edge(METRICS) >> metrics
    tasks >> edge(METRICS, label="remote write") >> endpoint >> edge(METRICS) >> workspace
    metrics >> edge(METRICS) >> [alarms, scaling]
    [alarms, workspace] >> edge(ALERT) >> topic


def draw_security(c: Canvas) -> None:
    """Who may touch what, and what is encrypted with which key?"""
    with Cluster("Internet edge"):
        igw = c.node(
            InternetGateway,
            "igw",
            "Internet gateway\nonly public subnets route to it",
            "aws_internet_gateway",
        )
        waf = c.node(WAF, "waf", "WAF\nrate limit + managed rules", "aws_wafv2_web_acl")
        cert = c.node(ACM, "acm", "ACM certificate\nTLS at the ALB", "aws_acm_certificate")
        user_pool = c.node(
            Cognito,
            "cognito",
            "Cognito user pool\nJWTs (when enable_auth)",
            "aws_cognito_user_pool",
            "aws_cognito_user_pool_client",
            "aws_cognito_user_group",
        )
    with Cluster("IAM roles"):
        task_role = c.node(
            IAMRole,
            "task_role",
            "Task role\n(its table; remote write\nto its workspace)",
            "aws_iam_role",
            "aws_iam_role_policy",
        )
        execution_role = c.node(
            IAMRole, "execution_role", "Execution role", "aws_iam_role", "aws_iam_role_policy"
        )
        deploy = c.node(
            IAMRole,
            "deploy_role",
            "Deploy role (GitHub OIDC)\nplan role: read-only",
            "aws_iam_openid_connect_provider",
            "aws_iam_role",
            "aws_iam_role_policy",
        )
        ecs_roles = c.node(
            IAMRole,
            "ecs_deployment_roles",
            "ECS's canary roles: shift the\ntwo target groups and rules,\ninvoke the smoke hook",
            "aws_iam_role",
            "aws_iam_role_policy",
        )
        hook_role = c.node(
            IAMRole, "smoke_hook_role", "Smoke hook role\nits own logs only", "aws_iam_role"
        )
    with Cluster("Resources"):
        table = c.node(DynamodbTable, "dynamodb", "DynamoDB table", "aws_dynamodb_table")
        registry = c.node(ECR, "ecr", "ECR repository", "aws_ecr_repository")
        logs = c.node(CloudwatchLogs, "logs", "CloudWatch Logs", "aws_cloudwatch_log_group")
        service = c.node(
            ElasticContainerServiceService, "ecs_service", "ECS service", "aws_ecs_service"
        )
        state = c.node(
            SimpleStorageServiceS3Bucket, "terraform_state", "Terraform state", "aws_s3_bucket"
        )
        topic = c.node(SimpleNotificationServiceSnsTopic, "sns", "SNS topic", "aws_sns_topic")
        workspace = c.node(
            AmazonManagedPrometheus,
            "prometheus",
            "Prometheus workspace",
            "aws_prometheus_workspace",
        )
        balancer = c.node(
            ALB, "alb_rules", "ALB target groups\n+ listener rules", "aws_lb_listener_rule"
        )
        hook = c.node(Lambda, "smoke_hook", "Smoke hook function", "aws_lambda_function")
    key = c.node(
        KeyManagementService, "kms", "KMS key per environment\nrotated yearly", "aws_kms_key"
    )
    legend(MAY_TOUCH, ENCRYPTS)

    task_role >> edge(MAY_TOUCH) >> [table, workspace]
    execution_role >> edge(MAY_TOUCH) >> [registry, logs]
    deploy >> edge(MAY_TOUCH) >> [registry, service, state, hook]
    ecs_roles >> edge(MAY_TOUCH) >> [balancer, hook]
    hook_role >> edge(MAY_TOUCH) >> logs
    key >> edge(ENCRYPTS) >> [table, logs, topic, registry, hook, workspace]
    igw - Edge(style="invis") - waf - Edge(style="invis") - cert - Edge(style="invis") - user_pool


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
            ElasticContainerService,
            "staging_rollout",
            "Canary 50 % for 3 min\nsmoke hook first\nwait for the outcome",
        )
        staging_checks = c.node(Decision, "staging_checks", "Smoke test\n+ load test")
    approval = c.node(User, "approval", "Approval\n(prod environment reviewers)")
    with Cluster("deploy.yml, environment prod"):
        prod = c.node(ECR, "deploy_prod", "Push the same digest\nterraform apply\nimage_tag=SHA")
        prod_rollout = c.node(
            ElasticContainerService,
            "prod_rollout",
            "Canary 10 % for 10 min\nsmoke hook first\nwait for the outcome",
        )
        prod_smoke = c.node(Decision, "prod_smoke", "Smoke test")
    released = c.node(StartEnd, "released", "Released")
    rollback = c.node(
        Action, "rollback", "scripts/rollback\nto the task definition\nthat ran before"
    )
    ecs_rollback = c.node(
        Action,
        "ecs_rollback",
        "ECS rolls back by itself\n(smoke hook, deployment alarm,\ncircuit breaker): run fails",
    )

    pr >> checks >> Edge(label="green") >> merge >> build >> staging >> staging_rollout
    staging_rollout >> staging_checks >> Edge(label="pass") >> approval
    approval >> Edge(label="approved") >> prod >> prod_rollout >> prod_smoke
    prod_smoke >> Edge(label="pass") >> released
    failed = "#D93025"
    [staging_rollout, prod_rollout] >> Edge(label="rolled back", color=failed) >> ecs_rollback
    [staging_checks, prod_smoke] >> Edge(label="fail", color=failed) >> rollback


@dataclass(frozen=True)
class Picture:
    name: str
    title: str
    direction: str
    splines: str
    draw: Callable[[Canvas], None]


# polyline, not ortho: Graphviz's ortho router ignores node labels (diagrams puts them under the
# icon) and drew edges through them; polyline keeps edges straight and around every node.
PICTURES = (
    Picture("request-path", "How a request reaches the data", "LR", "polyline", draw_request_path),
    Picture(
        "control-plane", "How a commit becomes running tasks", "LR", "polyline", draw_control_plane
    ),
    Picture(
        "observability", "What is watched and who is told", "LR", "polyline", draw_observability
    ),
    Picture(
        "security", "Who may touch what, and which key encrypts it", "LR", "polyline", draw_security
    ),
    Picture("delivery-flow", "Hello Birthday delivery flow", "LR", "spline", draw_delivery_flow),
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
        graph_attr={
            "pad": "0.5",
            "splines": picture.splines,
            "nodesep": "0.6",
            "ranksep": "1.2",
            "fontsize": "20",
        },
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
