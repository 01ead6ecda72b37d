output "sns_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "deployment_alarm_names" {
  description = "Alarms that roll back an ECS deployment when they fire: the whole load balancer's error rate and latency (the rollout guards), and each target group's (the canary's own)."
  value = concat(
    [
      aws_cloudwatch_metric_alarm.http_5xx_rate.alarm_name,
      aws_cloudwatch_metric_alarm.p99_latency.alarm_name,
    ],
    [for key in sort(local.target_group_keys) : aws_cloudwatch_metric_alarm.deployment_5xx_rate[key].alarm_name],
    [for key in sort(local.target_group_keys) : aws_cloudwatch_metric_alarm.deployment_p99_latency[key].alarm_name],
  )
}

output "slo_alarm_names" {
  description = "The composite burn-rate alarms that notify for the SLOs, by SLO and tier (availability/latency x fast-burn, slow-burn, budget-ticket)."
  value = merge(
    { for tier, alarm in aws_cloudwatch_composite_alarm.availability : "availability-${tier}" => alarm.alarm_name },
    { for tier, alarm in aws_cloudwatch_composite_alarm.latency : "latency-${tier}" => alarm.alarm_name },
  )
}

output "alarm_arns" {
  description = "ARNs of all alarms, the burn-rate windows and their composites included."
  value = concat(
    [for alarm in aws_cloudwatch_composite_alarm.availability : alarm.arn],
    [for alarm in aws_cloudwatch_composite_alarm.latency : alarm.arn],
    [for alarm in aws_cloudwatch_metric_alarm.availability_burn : alarm.arn],
    [for alarm in aws_cloudwatch_metric_alarm.latency_burn : alarm.arn],
    [
      aws_cloudwatch_metric_alarm.http_5xx_rate.arn,
      aws_cloudwatch_metric_alarm.p99_latency.arn,
      aws_cloudwatch_metric_alarm.unhealthy_hosts.arn,
      aws_cloudwatch_metric_alarm.running_below_desired.arn,
      aws_cloudwatch_metric_alarm.dynamodb_throttles.arn,
      aws_cloudwatch_metric_alarm.dynamodb_system_errors.arn,
    ],
    [for alarm in aws_cloudwatch_metric_alarm.deployment_5xx_rate : alarm.arn],
    [for alarm in aws_cloudwatch_metric_alarm.deployment_p99_latency : alarm.arn],
  )
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
