output "sns_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "deployment_alarm_names" {
  description = "Alarms that roll back an ECS deployment when they fire: the whole load balancer's error rate and latency, and each target group's (the canary's own)."
  value = concat(
    [
      aws_cloudwatch_metric_alarm.http_5xx_rate.alarm_name,
      aws_cloudwatch_metric_alarm.p99_latency.alarm_name,
    ],
    [for key in sort(local.target_group_keys) : aws_cloudwatch_metric_alarm.deployment_5xx_rate[key].alarm_name],
    [for key in sort(local.target_group_keys) : aws_cloudwatch_metric_alarm.deployment_p99_latency[key].alarm_name],
  )
}

output "alarm_arns" {
  description = "ARNs of all alarms."
  value = concat([
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
