data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]
  # The whole load balancer, not one target group: a canary deployment moves
  # production from one of the two target groups to the other, so an alarm on
  # one of them would watch an empty group after every other deployment.
  alb_dimensions = { LoadBalancer = var.alb_arn_suffix }
  # Instance keys fixed here (for_each needs them at plan; the suffixes come
  # from the target groups, known only after apply).
  target_group_keys = toset(["primary", "alternate"])
  target_groups = {
    for key in local.target_group_keys : key => { LoadBalancer = var.alb_arn_suffix, TargetGroup = var.target_group_arn_suffixes[key] }
  }
  account_id = data.aws_caller_identity.current.account_id

  # Multi-window, multi-burn-rate alerting (SRE Workbook, chapter 5), the same
  # scheme as deploy/prometheus/rules.yml: each alert needs a long window (is
  # the budget really burning that fast?) and a short one (is it still
  # burning?), so it fires within minutes of a big burn and clears minutes
  # after it stops. 14.4x spends 2 % of 30 days' budget in 1 h, 6x spends 5 %
  # in 6 h, 1x spends it all in 30 days. The thresholds are the burn rate
  # times the budgets of docs/slo.md: 0.1 % of requests may fail
  # (error_percent), 1 % may take longer than latency_threshold_seconds
  # (fast_percent is the share that must not).
  burn_tiers = {
    "fast-burn"     = { burn = 14.4, error_percent = 1.44, fast_percent = 85.6, long = "fast-1h", short = "fast-5m", severity = "page" }
    "slow-burn"     = { burn = 6, error_percent = 0.6, fast_percent = 94, long = "slow-6h", short = "slow-30m", severity = "page" }
    "budget-ticket" = { burn = 1, error_percent = 0.1, fast_percent = 99, long = "ticket-3d", short = "ticket-6h", severity = "ticket" }
  }
  # One alarm per window: a metric-math alarm reads one period, so the window
  # is the period. A period of an hour or more may be evaluated over up to 7
  # days, which admits the 3-day window.
  burn_windows = {
    "fast-1h"   = { tier = "fast-burn", seconds = 3600, label = "1 h" }
    "fast-5m"   = { tier = "fast-burn", seconds = 300, label = "5 min" }
    "slow-6h"   = { tier = "slow-burn", seconds = 21600, label = "6 h" }
    "slow-30m"  = { tier = "slow-burn", seconds = 1800, label = "30 min" }
    "ticket-3d" = { tier = "budget-ticket", seconds = 259200, label = "3 days" }
    "ticket-6h" = { tier = "budget-ticket", seconds = 21600, label = "6 h" }
  }
  # 6x the 0.1 % error budget, HelloAvailabilitySlowBurn's rate (docs/slo.md).
  deployment_error_percent = 100 * (1 - var.availability_slo) * var.deployment_alarms.burn_rate
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

# Replaces the default topic policy: the account administers the topic,
# CloudWatch alarms of this account publish to it, and so does the alert
# manager of this stack's Prometheus workspace, and no other.
data "aws_iam_policy_document" "topic" {
  statement {
    sid = "AccountOwnsTheTopic"
    actions = [
      "sns:GetTopicAttributes",
      "sns:SetTopicAttributes",
      "sns:AddPermission",
      "sns:RemovePermission",
      "sns:DeleteTopic",
      "sns:Subscribe",
      "sns:ListSubscriptionsByTopic",
      "sns:Publish",
    ]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "PrometheusAlertManagerPublishes"
    actions   = ["sns:Publish", "sns:GetTopicAttributes"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["aps.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.prometheus_workspace_arn]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# ------------------------------------------------------------ rollout guards

# The two alarms ECS deployments roll back on: minutes-fast and coarse, so a
# bad revision is undone during its rollout. They notify nobody; the burn-rate
# alarms below page for the SLOs.
resource "aws_cloudwatch_metric_alarm" "http_5xx_rate" {
  alarm_name          = "${var.name}-5xx-rate"
  alarm_description   = "Rollout guard: more than ${var.error_rate_threshold_percent}% of requests answered 5xx (by targets or by the ALB itself) in 2 of 3 minutes; a deployment in progress rolls back."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.error_rate_threshold_percent
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"

  metric_query {
    id = "rate"
    # The target group's RequestCount counts only requests the ALB gave to a
    # target, and is not reported at all when no target is registered: with it
    # alone as the denominator the ALB's own 503s of a total outage divide by
    # nothing and the alarm reads "not breaching". Adding the ALB's 5xx to the
    # denominator makes that outage 100 %; with no traffic at all both are 0
    # and the result is no data.
    expression  = "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / (FILL(requests, 0) + FILL(elb5xx, 0))"
    label       = "5xx %"
    return_data = true
  }

  metric_query {
    id = "target5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.alb_dimensions
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "elb5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = var.alb_arn_suffix }
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.alb_dimensions
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "p99_latency" {
  alarm_name          = "${var.name}-p99-latency"
  alarm_description   = "Rollout guard: p99 target response time above ${var.p99_latency_threshold_seconds}s in 3 of 5 minutes; a deployment in progress rolls back."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.alb_dimensions
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.p99_latency_threshold_seconds
  treat_missing_data  = "notBreaching"
}

# ------------------------------------------------------- SLO burn-rate alarms

# Share of requests answered 5xx over one window, as in the rollout guard: the
# ALB's own 5xx count in the denominator too, so a total outage reads 100 %.
# A window alarm notifies nobody; the composite alarm of its tier does.
resource "aws_cloudwatch_metric_alarm" "availability_burn" {
  for_each = local.burn_windows

  alarm_name          = "${var.name}-availability-${each.key}"
  alarm_description   = "Over ${each.value.label}, more than ${local.burn_tiers[each.value.tier].error_percent}% of requests answered 5xx: the availability budget burns at over ${local.burn_tiers[each.value.tier].burn}x. One window of ${var.name}-availability-${each.value.tier}."
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.burn_tiers[each.value.tier].error_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"

  metric_query {
    id          = "rate"
    expression  = "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / (FILL(requests, 0) + FILL(elb5xx, 0))"
    label       = "5xx % over ${each.value.label}"
    return_data = true
  }

  metric_query {
    id = "target5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.alb_dimensions
      period      = each.value.seconds
      stat        = "Sum"
    }
  }

  metric_query {
    id = "elb5xx"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = var.alb_arn_suffix }
      period      = each.value.seconds
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.alb_dimensions
      period      = each.value.seconds
      stat        = "Sum"
    }
  }
}

# Share of target responses at or under the latency threshold over one window:
# the percentile-rank statistic PR(:0.3) counts the requests themselves, not a
# percentile of them, which is exactly the SLI of docs/slo.md.
resource "aws_cloudwatch_metric_alarm" "latency_burn" {
  for_each = local.burn_windows

  alarm_name          = "${var.name}-latency-${each.key}"
  alarm_description   = "Over ${each.value.label}, fewer than ${local.burn_tiers[each.value.tier].fast_percent}% of target responses took ${var.latency_threshold_seconds}s or less: the latency budget burns at over ${local.burn_tiers[each.value.tier].burn}x. One window of ${var.name}-latency-${each.value.tier}."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.alb_dimensions
  extended_statistic  = "PR(:${var.latency_threshold_seconds})"
  period              = each.value.seconds
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = local.burn_tiers[each.value.tier].fast_percent
  treat_missing_data  = "notBreaching"
}

# Long window AND short window: the alarm that notifies. Both tiers that page
# and the ticket go to the topic; the description says which is which.
resource "aws_cloudwatch_composite_alarm" "availability" {
  for_each = local.burn_tiers

  alarm_name        = "${var.name}-availability-${each.key}"
  alarm_description = "${upper(each.value.severity)}: the availability budget (99.9% of requests not 5xx) burns at over ${each.value.burn}x over both ${local.burn_windows[each.value.long].label} and ${local.burn_windows[each.value.short].label}. Runbook: docs/runbook.md, section ${var.name}-availability-${each.key}."
  alarm_rule        = "ALARM(\"${aws_cloudwatch_metric_alarm.availability_burn[each.value.long].alarm_name}\") AND ALARM(\"${aws_cloudwatch_metric_alarm.availability_burn[each.value.short].alarm_name}\")"
  alarm_actions     = local.alarm_actions
  ok_actions        = local.alarm_actions
}

resource "aws_cloudwatch_composite_alarm" "latency" {
  for_each = local.burn_tiers

  alarm_name        = "${var.name}-latency-${each.key}"
  alarm_description = "${upper(each.value.severity)}: the latency budget (99% of target responses in ${var.latency_threshold_seconds}s or less) burns at over ${each.value.burn}x over both ${local.burn_windows[each.value.long].label} and ${local.burn_windows[each.value.short].label}. Runbook: docs/runbook.md, section ${var.name}-latency-${each.key}."
  alarm_rule        = "ALARM(\"${aws_cloudwatch_metric_alarm.latency_burn[each.value.long].alarm_name}\") AND ALARM(\"${aws_cloudwatch_metric_alarm.latency_burn[each.value.short].alarm_name}\")"
  alarm_actions     = local.alarm_actions
  ok_actions        = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "unhealthy_hosts" {
  alarm_name          = "${var.name}-unhealthy-hosts"
  alarm_description   = "At least one target failed the /readyz health check for 3 minutes."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 3
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  # Summed over both target groups (the host counts exist only per group).
  metric_query {
    id          = "unhealthy"
    expression  = "FILL(unhealthyprimary, 0) + FILL(unhealthyalternate, 0)"
    label       = "Unhealthy targets"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.target_group_keys

    content {
      id = "unhealthy${metric_query.key}"
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = "UnHealthyHostCount"
        dimensions  = local.target_groups[metric_query.key]
        period      = 60
        stat        = "Maximum"
      }
    }
  }
}

# Zero healthy targets is an outage whatever the traffic: with no target
# registered a target group reports no HealthyHostCount at all, so missing
# data is breaching here. Summed over both target groups: between deployments
# one of them is empty by design.
resource "aws_cloudwatch_metric_alarm" "no_healthy_targets" {
  alarm_name          = "${var.name}-no-healthy-targets"
  alarm_description   = "No healthy (or no registered) target behind the load balancer for 2 minutes: the ALB answers every request 503."
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  evaluation_periods  = 2
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "healthy"
    expression  = "FILL(healthyprimary, 0) + FILL(healthyalternate, 0)"
    label       = "Healthy targets"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.target_group_keys

    content {
      id = "healthy${metric_query.key}"
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = "HealthyHostCount"
        dimensions  = local.target_groups[metric_query.key]
        period      = 60
        stat        = "Minimum"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "running_below_desired" {
  alarm_name          = "${var.name}-running-below-desired"
  alarm_description   = "Fewer tasks running than desired for 5 minutes (crash loop, capacity or image pull problem)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 5
  # Missing data is not breaching: a new environment has no Container Insights
  # data until its service first reports, and would alarm on every first
  # apply. Having no task at all is caught by no-healthy-targets.
  treat_missing_data = "missing"
  alarm_actions      = local.alarm_actions
  ok_actions         = local.alarm_actions

  metric_query {
    id          = "missing"
    expression  = "desired - running"
    label       = "Tasks missing"
    return_data = true
  }

  metric_query {
    id = "desired"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "DesiredTaskCount"
      dimensions  = { ClusterName = var.cluster_name, ServiceName = var.service_name }
      period      = 60
      stat        = "Average"
    }
  }

  metric_query {
    id = "running"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions  = { ClusterName = var.cluster_name, ServiceName = var.service_name }
      period      = 60
      stat        = "Average"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  alarm_name          = "${var.name}-dynamodb-throttles"
  alarm_description   = "DynamoDB throttled reads or writes on the table."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "throttles"
    expression  = "FILL(reads, 0) + FILL(writes, 0)"
    label       = "Throttle events"
    return_data = true
  }

  metric_query {
    id = "reads"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "ReadThrottleEvents"
      dimensions  = { TableName = var.dynamodb_table_name }
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "writes"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "WriteThrottleEvents"
      dimensions  = { TableName = var.dynamodb_table_name }
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_system_errors" {
  alarm_name          = "${var.name}-dynamodb-system-errors"
  alarm_description   = "DynamoDB returned 5xx (system errors) to GetItem or PutItem."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "errors"
    expression  = "FILL(getitem, 0) + FILL(putitem, 0)"
    label       = "System errors"
    return_data = true
  }

  metric_query {
    id = "getitem"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "SystemErrors"
      dimensions  = { TableName = var.dynamodb_table_name, Operation = "GetItem" }
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "putitem"
    metric {
      namespace   = "AWS/DynamoDB"
      metric_name = "SystemErrors"
      dimensions  = { TableName = var.dynamodb_table_name, Operation = "PutItem" }
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name

  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "Requests and 5xx"
          region = data.aws_region.current.region
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.alb_arn_suffix],
            [".", "HTTPCode_Target_5XX_Count", ".", "."],
            [".", "HTTPCode_Target_4XX_Count", ".", "."],
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", var.alb_arn_suffix],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "Target response time"
          region = data.aws_region.current.region
          period = 60
          metrics = [
            ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.alb_arn_suffix, { stat = "p50" }],
            ["...", { stat = "p99" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Tasks and health"
          region = data.aws_region.current.region
          period = 60
          stat   = "Average"
          metrics = [
            ["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.cluster_name, "ServiceName", var.service_name],
            [".", "DesiredTaskCount", ".", ".", ".", "."],
            ["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", var.alb_arn_suffix, "TargetGroup", var.target_group_arn_suffixes["primary"]],
            [".", "UnHealthyHostCount", ".", ".", ".", "."],
            [".", "HealthyHostCount", ".", ".", ".", var.target_group_arn_suffixes["alternate"]],
            [".", "UnHealthyHostCount", ".", ".", ".", "."],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "CPU and memory"
          region = data.aws_region.current.region
          period = 60
          stat   = "Average"
          metrics = [
            ["AWS/ECS", "CPUUtilization", "ClusterName", var.cluster_name, "ServiceName", var.service_name],
            [".", "MemoryUtilization", ".", ".", ".", "."],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 24, height = 6
        properties = {
          title  = "DynamoDB"
          region = data.aws_region.current.region
          period = 60
          stat   = "Sum"
          metrics = [
            ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", var.dynamodb_table_name],
            [".", "ConsumedWriteCapacityUnits", ".", "."],
            [".", "ReadThrottleEvents", ".", "."],
            [".", "WriteThrottleEvents", ".", "."],
          ]
        }
      },
      {
        type = "alarm", x = 0, y = 18, width = 24, height = 4
        properties = {
          title = "Alarms"
          alarms = concat(
            [for alarm in aws_cloudwatch_composite_alarm.availability : alarm.arn],
            [for alarm in aws_cloudwatch_composite_alarm.latency : alarm.arn],
            [
              aws_cloudwatch_metric_alarm.http_5xx_rate.arn,
              aws_cloudwatch_metric_alarm.p99_latency.arn,
              aws_cloudwatch_metric_alarm.unhealthy_hosts.arn,
              aws_cloudwatch_metric_alarm.running_below_desired.arn,
              aws_cloudwatch_metric_alarm.dynamodb_throttles.arn,
              aws_cloudwatch_metric_alarm.dynamodb_system_errors.arn,
            ],
          )
        }
      },
    ]
  })
}

# ------------------------------------------------------- deployment alarms
# One pair per target group: during a canary either group may hold the new
# revision, and only the group's own numbers tell the canary from the rest.
# They only roll deployments back (ECS reads them); they notify like the others
# so that a rollback is never silent.

resource "aws_cloudwatch_metric_alarm" "deployment_5xx_rate" {
  for_each = local.target_group_keys

  alarm_name          = "${var.name}-deploy-5xx-rate-${each.key}"
  alarm_description   = "Target group ${each.key}: more than ${local.deployment_error_percent}% of its requests answered 5xx (${var.deployment_alarms.burn_rate}x the ${var.availability_slo * 100}% SLO's error budget) in 2 of 3 minutes, counted only in minutes with at least ${var.deployment_alarms.min_requests} requests. Rolls back the deployment in progress."
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.deployment_error_percent
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  # Below min_requests a single error is a large share: such a minute counts
  # as 0 % rather than as a rollback.
  metric_query {
    id          = "rate"
    expression  = "IF(FILL(requests, 0) >= ${var.deployment_alarms.min_requests}, 100 * FILL(errors, 0) / requests, 0)"
    label       = "5xx % of ${each.key}"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = local.target_groups[each.key]
      period      = 60
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.target_groups[each.key]
      period      = 60
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "deployment_p99_latency" {
  for_each = local.target_group_keys

  alarm_name          = "${var.name}-deploy-p99-latency-${each.key}"
  alarm_description   = "Target group ${each.key}: p99 target response time above ${var.deployment_alarms.p99_latency_seconds}s (the latency SLO: 99% within 300 ms) in 2 of 3 minutes with at least ${var.deployment_alarms.min_requests} requests. Rolls back the deployment in progress."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.deployment_alarms.p99_latency_seconds
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "latency"
    expression  = "IF(FILL(requests, 0) >= ${var.deployment_alarms.min_requests}, p99, 0)"
    label       = "p99 seconds of ${each.key}"
    return_data = true
  }

  metric_query {
    id = "p99"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "TargetResponseTime"
      dimensions  = local.target_groups[each.key]
      period      = 60
      stat        = "p99"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = local.target_groups[each.key]
      period      = 60
      stat        = "Sum"
    }
  }
}
