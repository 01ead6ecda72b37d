variable "name" {
  description = "Name prefix of the alarms, topic and dashboard."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the SNS topic."
  type        = string
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic; null subscribes nobody (wire a pager separately)."
  type        = string
  default     = null
}

variable "alb_arn_suffix" {
  description = "LoadBalancer dimension of the AWS/ApplicationELB metrics."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "TargetGroup dimension of the AWS/ApplicationELB metrics."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster of the service."
  type        = string
}

variable "service_name" {
  description = "ECS service to watch."
  type        = string
}

variable "dynamodb_table_name" {
  description = "DynamoDB table to watch."
  type        = string
}

variable "error_rate_threshold_percent" {
  description = "Rollout guard: 5xx responses, as a percentage of requests in a minute, that roll a deployment back when exceeded in 2 of 3 consecutive minutes."
  type        = number
  default     = 5
}

variable "p99_latency_threshold_seconds" {
  description = "Rollout guard: p99 target response time, in seconds, that rolls a deployment back when exceeded in 3 of 5 minutes."
  type        = number
  default     = 1
}

variable "latency_threshold_seconds" {
  description = "Latency SLO threshold (docs/slo.md): a target response that takes longer counts against the latency budget. Also a bucket boundary of the service's duration histogram, which the Prometheus rules count against."
  type        = number
  default     = 0.3
}

variable "prometheus_workspace_arn" {
  description = "Prometheus workspace whose alert manager may publish to the alarm topic (the topic policy admits aps.amazonaws.com for it alone)."
  type        = string
}
