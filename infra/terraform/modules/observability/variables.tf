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

variable "target_group_arn_suffixes" {
  description = "TargetGroup dimensions of the service's two target groups, keyed primary and alternate (a canary deployment moves production between them)."
  type        = map(string)

  validation {
    condition     = toset(keys(var.target_group_arn_suffixes)) == toset(["primary", "alternate"])
    error_message = "target_group_arn_suffixes must have exactly the keys primary and alternate."
  }
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

variable "availability_slo" {
  description = "The availability SLO (docs/slo.md): the share of valid requests that must be good."
  type        = number
  default     = 0.999
}

variable "deployment_alarms" {
  description = "The per-target-group alarms that roll a deployment back: the error-budget burn rate whose error share trips them (6 = HelloAvailabilitySlowBurn's rate, 0.6 % at 99.9 %), the p99 latency in seconds (the SLO's 300 ms), and the fewest requests in a minute for that minute to count."
  type = object({
    burn_rate           = optional(number, 6)
    p99_latency_seconds = optional(number, 0.3)
    min_requests        = optional(number, 20)
  })
  default = {}

  validation {
    condition     = var.deployment_alarms.burn_rate >= 1 && var.deployment_alarms.p99_latency_seconds > 0 && var.deployment_alarms.min_requests >= 1
    error_message = "deployment_alarms: burn_rate at least 1 (below it the budget is not burning), p99_latency_seconds above 0, min_requests at least 1."
  }
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
