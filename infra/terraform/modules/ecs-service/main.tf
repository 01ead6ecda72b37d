data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id     = data.aws_caller_identity.current.account_id
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.region
  container_name = "app"
  canary         = var.deployment.strategy == "CANARY"

  environment = merge(
    {
      HELLO_HOST             = "0.0.0.0"
      HELLO_PORT             = tostring(var.task.container_port)
      HELLO_STORAGE          = "dynamodb"
      HELLO_DYNAMODB_TABLE   = var.table.name
      AWS_REGION             = local.region
      HELLO_LOG_LEVEL        = var.task.log_level
      HELLO_WORKERS          = tostring(max(1, floor(var.task.cpu / 1024)))
      HELLO_DRAIN_SECONDS    = tostring(var.shutdown.drain_seconds)
      HELLO_SHUTDOWN_TIMEOUT = tostring(var.shutdown.shutdown_timeout_seconds)
    },
    var.task.extra_environment,
  )

  container_definition = {
    name      = local.container_name
    image     = "${var.image.repository_url}:${var.image.tag}"
    essential = true
    user      = "10001:10001"

    readonlyRootFilesystem = true
    # The server's only writable directory; Fargate has no tmpfs, so it is an
    # ephemeral task volume.
    mountPoints = [
      {
        sourceVolume  = "tmp"
        containerPath = "/tmp"
        readOnly      = false
      },
    ]

    portMappings = [
      {
        name          = "http"
        containerPort = var.task.container_port
        hostPort      = var.task.container_port
        protocol      = "tcp"
        appProtocol   = "http"
      },
    ]

    environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]

    healthCheck = {
      command     = ["CMD", "/app/.venv/bin/hello-birthday", "healthcheck"]
      interval    = 10
      timeout     = 5
      retries     = 3
      startPeriod = 15
    }

    stopTimeout = var.shutdown.stop_timeout_seconds

    linuxParameters = {
      capabilities = { drop = ["ALL"] }
    }

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = local.region
        awslogs-stream-prefix = local.container_name
        # A slow log pipeline must not block request handling.
        mode            = "non-blocking"
        max-buffer-size = "4m"
      }
    }
  }
}

locals {
  collector_name = "collector"

  # deploy/prometheus/collector.yml names a placeholder workspace, region and
  # port; the task's real ones replace them (the file's own comment says so).
  collector_config = replace(replace(replace(
    var.collector.config,
    "/https://aps-workspaces\\.[^/]+/workspaces/[^/]+/api/v1/remote_write/", var.collector.remote_write_url),
    "/region: [a-z0-9-]+/", "region: ${local.region}"),
  "/\"127\\.0\\.0\\.1:[0-9]+\"/", "\"127.0.0.1:${var.task.container_port}\"")

  # The image has no config of ours and the root file system is read-only:
  # the shell of the image's busybox writes the config passed in the
  # environment to the task volume the WAL lives on, names the series after
  # the task (its ARN's last part, from the task metadata endpoint), and
  # hands over to Prometheus. Its web port stays on loopback.
  collector_script = <<-EOT
    set -eu
    task_arn=$(wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task" | sed -n 's/.*"TaskARN": *"\([^"]*\)".*/\1/p')
    COLLECTOR_TASK="$${task_arn##*/}"
    [ -n "$COLLECTOR_TASK" ] || COLLECTOR_TASK="$(hostname)"
    export COLLECTOR_TASK
    printf '%s\n' "$COLLECTOR_CONFIG" > /prometheus/collector.yml
    exec /bin/prometheus --agent --config.file=/prometheus/collector.yml --storage.agent.path=/prometheus/wal --web.listen-address=127.0.0.1:9090 --enable-feature=expand-external-labels
  EOT

  # Not essential: when the collector stops, the task and the service keep
  # running, and the workspace's HelloMetricsMissing/HelloScrapeFailing alert
  # on the silence. The service container does not depend on it.
  collector_container = {
    name       = local.collector_name
    image      = var.collector.image
    essential  = false
    cpu        = var.collector.cpu
    memory     = var.collector.memory
    user       = "65534:65534"
    entryPoint = ["/bin/sh", "-c"]
    command    = [local.collector_script]

    # A collector that crashes is started again in place rather than leaving
    # the task without metrics until it is replaced.
    restartPolicy = {
      enabled              = true
      restartAttemptPeriod = 60
    }

    readonlyRootFilesystem = true
    # /prometheus is a VOLUME of the image owned by nobody, so the task
    # volume mounted there is writable by the collector.
    mountPoints = [
      {
        sourceVolume  = local.collector_name
        containerPath = "/prometheus"
        readOnly      = false
      },
    ]

    environment = [
      { name = "COLLECTOR_CONFIG", value = local.collector_config },
      # Keeps the Go heap under the container's hard limit.
      { name = "GOMEMLIMIT", value = "${floor(var.collector.memory * 0.8)}MiB" },
    ]

    linuxParameters = {
      capabilities = { drop = ["ALL"] }
    }

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = local.region
        awslogs-stream-prefix = local.collector_name
        mode                  = "non-blocking"
        max-buffer-size       = "1m"
      }
    }
  }
}

# ------------------------------------------------------------------------ logs

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.logs.retention_days
  kms_key_id        = var.logs.kms_key_arn
}

# ------------------------------------------------------------------------- IAM

data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    # Confused-deputy guard: only ECS acting for this account.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  description        = "ECS agent: pull the image and write container logs"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid = "EcrLogin"
    #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource-level permissions; "*" is the only valid resource.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullThisRepository"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [var.image.repository_arn]
  }

  # The collector's image comes through the pull-through cache: its first
  # pull creates the cache repository and imports the image from upstream.
  statement {
    sid = "PullTheCollectorThroughTheCache"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchImportUpstreamImage",
      "ecr:CreateRepository",
    ]
    resources = [var.collector.repository_arn]
  }

  statement {
    sid       = "WriteThisLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-write-logs"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  description        = "The running service: read and write its one DynamoDB table, remote-write its metrics"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json
}

# GetItem/PutItem serve the API, DescribeTable answers /readyz. The table's
# KMS key admits account principals through DynamoDB (see the kms module), so
# no KMS permission is needed here.
data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ReadWriteTheTable"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DescribeTable"]
    resources = [var.table.arn]
  }

  # The collector signs its remote write with the task role.
  statement {
    sid       = "RemoteWriteTheOneWorkspace"
    actions   = ["aps:RemoteWrite"]
    resources = [var.collector.workspace_arn]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "dynamodb-table"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# ------------------------------------------- IAM: what ECS does in a deployment

# The ECS service principal itself (not the tasks) assumes these two roles
# during a canary deployment: one to move the load balancer's traffic, one to
# call the smoke hook. ROLLING needs neither.
data "aws_iam_policy_document" "assume_ecs" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs.amazonaws.com"]
    }
    # Confused-deputy guard: only ECS acting for this account.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "load_balancers" {
  count = local.canary ? 1 : 0

  name               = "${var.name}-ecs-load-balancers"
  description        = "ECS canary deployments: register tasks in this service's two target groups and shift its listener rules"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs.json
}

# AmazonECSInfrastructureRolePolicyForLoadBalancers, scoped: the managed policy
# may modify any listener, rule and target group in the account; this role only
# this service's two target groups, its production and test rules and the
# listener they belong to.
data "aws_iam_policy_document" "load_balancers" {
  count = local.canary ? 1 : 0

  statement {
    sid = "ReadLoadBalancing"
    #checkov:skip=CKV_AWS_356:The elasticloadbalancing Describe actions have no resource-level permissions; "*" is the only valid resource.
    actions = [
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "RegisterTasksInTheTwoTargetGroups"
    actions   = ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]
    resources = [var.load_balancer.target_group_arn, var.canary.alternate_target_group_arn]
  }

  statement {
    sid       = "ShiftTheServiceRules"
    actions   = ["elasticloadbalancing:ModifyRule"]
    resources = [var.canary.production_listener_rule_arn, var.canary.test_listener_rule_arn]
  }

  statement {
    sid       = "ModifyTheirListener"
    actions   = ["elasticloadbalancing:ModifyListener"]
    resources = [var.canary.listener_arn]
  }
}

resource "aws_iam_role_policy" "load_balancers" {
  count = local.canary ? 1 : 0

  name   = "shift-this-service"
  role   = aws_iam_role.load_balancers[0].id
  policy = data.aws_iam_policy_document.load_balancers[0].json
}

resource "aws_iam_role" "lifecycle_hooks" {
  count = local.canary ? 1 : 0

  name               = "${var.name}-ecs-lifecycle-hooks"
  description        = "ECS canary deployments: invoke this service's smoke hook"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs.json
}

data "aws_iam_policy_document" "lifecycle_hooks" {
  count = local.canary ? 1 : 0

  statement {
    sid       = "InvokeTheSmokeHook"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.canary.smoke_hook_function_arn]
  }
}

resource "aws_iam_role_policy" "lifecycle_hooks" {
  count = local.canary ? 1 : 0

  name   = "invoke-smoke-hook"
  role   = aws_iam_role.lifecycle_hooks[0].id
  policy = data.aws_iam_policy_document.lifecycle_hooks[0].json
}

# --------------------------------------------------------------------- network

resource "aws_security_group" "task" {
  name        = "${var.name}-task"
  description = "Service tasks: HTTP from the load balancer, HTTPS to AWS endpoints only"
  vpc_id      = var.network.vpc_id

  tags = { Name = "${var.name}-task" }
}

resource "aws_vpc_security_group_ingress_rule" "task_from_alb" {
  security_group_id            = aws_security_group.task.id
  description                  = "Application port from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.task.container_port
  to_port                      = var.task.container_port
  referenced_security_group_id = var.load_balancer.security_group_id
}

resource "aws_vpc_security_group_egress_rule" "alb_to_task" {
  security_group_id            = var.load_balancer.security_group_id
  description                  = "Load balancer to the application port of the tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.task.container_port
  to_port                      = var.task.container_port
  referenced_security_group_id = aws_security_group.task.id
}

resource "aws_vpc_security_group_egress_rule" "task_to_endpoints" {
  security_group_id            = aws_security_group.task.id
  description                  = "HTTPS to the interface endpoints (ECR, CloudWatch Logs, Prometheus remote write)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = var.network.endpoints_security_group_id
}

# Keyed by the endpoint's service name, which the configuration fixes: the
# prefix list ids themselves are assigned by AWS when the endpoints are created,
# and for_each keys must be known when the plan is made.
resource "aws_vpc_security_group_egress_rule" "task_to_gateways" {
  for_each = var.network.gateway_prefix_list_ids

  security_group_id = aws_security_group.task.id
  description       = "HTTPS to the ${each.key} gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value
}

# ------------------------------------------------------------------------- ECS

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights
  }
}

resource "aws_ecs_task_definition" "this" {
  family = var.name
  # Keep old revisions ACTIVE so a rollback is a plain switch back to the previous revision.
  skip_destroy             = true
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task.cpu
  memory                   = var.task.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  volume {
    name = "tmp"
  }

  volume {
    name = local.collector_name
  }

  container_definitions = jsonencode([local.container_definition, local.collector_container])

  lifecycle {
    precondition {
      condition     = strcontains(local.collector_config, var.collector.remote_write_url)
      error_message = "The collector's config does not name the workspace: deploy/prometheus/collector.yml and the replacement in modules/ecs-service disagree."
    }
  }
}

resource "aws_ecs_service" "this" {
  name             = var.name
  cluster          = aws_ecs_cluster.this.id
  task_definition  = aws_ecs_task_definition.this.arn
  launch_type      = "FARGATE"
  platform_version = "LATEST"
  desired_count    = var.scaling.desired_count

  # Never drop below the current capacity while new tasks start.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = var.load_balancer.health_check_grace_period_seconds

  deployment_controller {
    type = "ECS"
  }

  deployment_configuration {
    strategy = var.deployment.strategy
    # How long the old revision stays ready (and the alarms can still roll
    # back) after all production traffic has moved to the new one.
    bake_time_in_minutes = local.canary ? var.deployment.bake_time_in_minutes : null

    dynamic "canary_configuration" {
      for_each = local.canary ? [var.deployment] : []

      content {
        canary_percent              = canary_configuration.value.canary_percent
        canary_bake_time_in_minutes = canary_configuration.value.canary_bake_time_in_minutes
      }
    }

    # After the test traffic shift, before any production traffic: the new
    # revision answers the smoke test through the test listener rule, or the
    # deployment rolls back. A hook that does not answer in time rolls back too.
    dynamic "lifecycle_hook" {
      for_each = local.canary ? [var.canary.smoke_hook_function_arn] : []

      content {
        hook_target_arn  = lifecycle_hook.value
        role_arn         = aws_iam_role.lifecycle_hooks[0].arn
        lifecycle_stages = ["POST_TEST_TRAFFIC_SHIFT"]

        timeout_configuration {
          action             = "ROLLBACK"
          timeout_in_minutes = var.deployment.hook_timeout_in_minutes
        }
      }
    }
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  dynamic "alarms" {
    for_each = length(var.deployment_alarm_names) > 0 ? [var.deployment_alarm_names] : []

    content {
      alarm_names = alarms.value
      enable      = true
      rollback    = true
    }
  }

  # Fargate places tasks across the subnets' AZs; rebalancing moves them back
  # after an AZ recovers.
  availability_zone_rebalancing = "ENABLED"

  network_configuration {
    subnets          = var.network.private_subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = var.load_balancer.target_group_arn
    container_name   = local.container_name
    container_port   = var.task.container_port

    # The second target group and the rules a canary shifts between the two.
    dynamic "advanced_configuration" {
      for_each = local.canary ? [var.canary] : []

      content {
        alternate_target_group_arn = advanced_configuration.value.alternate_target_group_arn
        production_listener_rule   = advanced_configuration.value.production_listener_rule_arn
        test_listener_rule         = advanced_configuration.value.test_listener_rule_arn
        role_arn                   = aws_iam_role.load_balancers[0].arn
      }
    }
  }

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  wait_for_steady_state   = var.wait_for_steady_state

  lifecycle {
    # Autoscaling owns the running count after creation. ECS owns the load
    # balancer block after creation: each canary deployment swaps the two
    # target groups (the service's target group becomes the alternate one), and
    # sending Terraform's original pair back would point the next deployment at
    # the group production is in (hashicorp/terraform-provider-aws#45678). A
    # change to it is an operator's update-service (infra/terraform/README.md).
    ignore_changes = [desired_count, load_balancer]
  }

  # Tasks must be able to read the table the moment they start, and ECS must be
  # able to shift traffic and call the hook the moment a deployment starts.
  depends_on = [
    aws_iam_role_policy.task,
    aws_iam_role_policy.execution,
    aws_iam_role_policy.load_balancers,
    aws_iam_role_policy.lifecycle_hooks,
  ]
}

# ----------------------------------------------------------------- autoscaling

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.scaling.min_capacity
  max_capacity       = var.scaling.max_capacity
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.scaling.cpu_target_percent
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  name               = "${var.name}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.scaling.requests_per_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = var.load_balancer.resource_label
    }
  }
}
