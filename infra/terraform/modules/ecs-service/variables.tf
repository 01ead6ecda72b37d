variable "name" {
  description = "Name of the cluster, service, task family and log group (e.g. hello-birthday-prod)."
  type        = string
}

variable "vpc_id" {
  description = "VPC the tasks run in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets, one per AZ; Fargate spreads the tasks over them."
  type        = list(string)
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer, the only source allowed to reach the container port."
  type        = string
}

variable "target_group_arn" {
  description = "Target group the service registers its tasks into."
  type        = string
}

variable "alb_resource_label" {
  description = "<alb arn_suffix>/<target group arn_suffix>, the resource label of the ALBRequestCountPerTarget metric."
  type        = string
}

variable "endpoints_security_group_id" {
  description = "Security group of the interface VPC endpoints (ECR, CloudWatch Logs) the tasks must reach."
  type        = string
}

variable "gateway_prefix_list_ids" {
  description = "Prefix lists of the gateway endpoints the tasks may send HTTPS to, keyed by a name fixed in the configuration (e.g. dynamodb, s3): the ids are known only after apply, the keys must be known at plan."
  type        = map(string)
}

variable "repository_url" {
  description = "ECR repository URL of the image, without tag."
  type        = string
}

variable "repository_arn" {
  description = "ECR repository ARN; the execution role may pull from it and nothing else."
  type        = string
}

variable "image_tag" {
  description = "Immutable image tag to run: the full 40-character git commit SHA."
  type        = string

  validation {
    # A mutable tag like latest would make a rollback or a new task silently
    # run different code.
    condition     = can(regex("^[0-9a-f]{40}$", var.image_tag))
    error_message = "image_tag must be a full 40-character lowercase git SHA, never latest or another mutable tag."
  }
}

variable "cpu" {
  description = "Task CPU units (1024 = 1 vCPU); also sets HELLO_WORKERS."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Task memory in MiB; must be a valid Fargate pairing for cpu."
  type        = number
  default     = 1024

  validation {
    # Fargate rejects other pairings only at deploy time.
    condition = (
      var.cpu == 256 ? contains([512, 1024, 2048], var.memory) :
      var.cpu == 512 ? var.memory >= 1024 && var.memory <= 4096 && var.memory % 1024 == 0 :
      var.cpu == 1024 ? var.memory >= 2048 && var.memory <= 8192 && var.memory % 1024 == 0 :
      var.cpu == 2048 ? var.memory >= 4096 && var.memory <= 16384 && var.memory % 1024 == 0 :
      var.cpu == 4096 ? var.memory >= 8192 && var.memory <= 30720 && var.memory % 1024 == 0 :
      false
    )
    error_message = "cpu/memory is not a Fargate combination (256: 512-2048, 512: 1024-4096, 1024: 2048-8192, 2048: 4096-16384, 4096: 8192-30720 MiB in 1 GiB steps)."
  }
}

variable "container_port" {
  description = "Port the service listens on (HELLO_PORT)."
  type        = number
  default     = 8080
}

variable "desired_count" {
  description = "Tasks to start with; autoscaling moves it between min_capacity and max_capacity afterwards."
  type        = number
  default     = 2
}

variable "min_capacity" {
  description = "Autoscaling floor."
  type        = number
  default     = 2
}

variable "max_capacity" {
  description = "Autoscaling ceiling."
  type        = number
  default     = 6
}

variable "cpu_target_percent" {
  description = "Target average CPU utilisation of the service."
  type        = number
  default     = 60
}

variable "requests_per_target" {
  description = "Target ALB requests per task per minute."
  type        = number
  default     = 3000
}

variable "dynamodb_table_name" {
  description = "Table the service stores birthdays in."
  type        = string
}

variable "dynamodb_table_arn" {
  description = "ARN of that table; the task role is limited to it."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the application log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the application log group, in days."
  type        = number
  default     = 365
}

variable "log_level" {
  description = "HELLO_LOG_LEVEL of the service."
  type        = string
  default     = "INFO"
}

variable "drain_seconds" {
  description = "HELLO_DRAIN_SECONDS: after SIGTERM /readyz answers 503 for this long while requests are still served."
  type        = number
  default     = 5
}

variable "shutdown_timeout_seconds" {
  description = "HELLO_SHUTDOWN_TIMEOUT: longest wait for in-flight requests after the drain."
  type        = number
  default     = 20
}

variable "stop_timeout_seconds" {
  description = "Container stopTimeout: time between SIGTERM and SIGKILL; must cover the drain, the shutdown timeout and the supervisor's own 5 s kill margin, with 5 s to spare."
  type        = number
  default     = 40

  validation {
    # The supervisor waits drain + shutdown timeout + 5 s before it kills the
    # server itself; SIGKILL from ECS must come later still, or the supervisor's
    # clean exit and its last log lines are cut off.
    condition     = var.stop_timeout_seconds >= var.drain_seconds + var.shutdown_timeout_seconds + 10 && var.stop_timeout_seconds <= 120
    error_message = "stop_timeout_seconds must be at least drain_seconds + shutdown_timeout_seconds + 10 (the supervisor's 5 s kill margin and 5 s to spare) and Fargate allows at most 120."
  }
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores failing load balancer health checks of a new task."
  type        = number
  default     = 30
}

variable "container_insights" {
  description = "Container Insights mode of the cluster (enabled or enhanced)."
  type        = string
  default     = "enabled"
}

variable "deployment_alarm_names" {
  description = "CloudWatch alarms that roll a deployment back when they fire; empty disables alarm-based rollback."
  type        = list(string)
  default     = []
}

variable "wait_for_steady_state" {
  description = "Make terraform apply wait until the deployment has finished (or rolled back)."
  type        = bool
  default     = true
}

variable "extra_environment" {
  description = "Additional container environment variables (e.g. HELLO_AUTH and the HELLO_JWT_* settings)."
  type        = map(string)
  default     = {}
}

variable "deployment" {
  description = "How ECS replaces the running revision. CANARY (the default): the new revision starts beside the old one, is smoke-tested through the test listener rule (lifecycle hook), takes canary_percent of production traffic for canary_bake_time_in_minutes, then all of it; the old revision stays ready for bake_time_in_minutes before it stops, and a deployment alarm or the circuit breaker rolls back at any point until then. ROLLING: the documented fallback (tasks replaced in place, circuit breaker and alarms only, no test traffic, no hook); canary_* are then ignored."
  type = object({
    strategy                    = optional(string, "CANARY")
    canary_percent              = optional(number, 10)
    canary_bake_time_in_minutes = optional(number, 10)
    bake_time_in_minutes        = optional(number, 10)
    # What a lifecycle hook that does not answer in time leads to.
    hook_timeout_in_minutes = optional(number, 10)
  })
  default = {}

  validation {
    condition     = contains(["CANARY", "ROLLING"], var.deployment.strategy)
    error_message = "deployment.strategy must be CANARY or ROLLING."
  }

  validation {
    # ECS accepts 0.1-100; 100 would be a blue/green switch with no canary at all.
    condition     = var.deployment.canary_percent >= 0.1 && var.deployment.canary_percent < 100
    error_message = "deployment.canary_percent must be at least 0.1 and below 100."
  }

  validation {
    condition = alltrue([
      for minutes in [var.deployment.canary_bake_time_in_minutes, var.deployment.bake_time_in_minutes] :
      minutes >= 0 && minutes <= 1440 && floor(minutes) == minutes
    ])
    error_message = "deployment bake times must be whole minutes from 0 to 1440 (ECS's limits)."
  }

  validation {
    condition     = var.deployment.strategy != "CANARY" || var.canary != null
    error_message = "deployment.strategy CANARY needs var.canary (the alternate target group, the listener rules and the smoke hook)."
  }

  validation {
    condition     = var.deployment.hook_timeout_in_minutes >= 1 && var.deployment.hook_timeout_in_minutes <= 60
    error_message = "deployment.hook_timeout_in_minutes must be between 1 and 60."
  }
}

variable "canary" {
  description = "The load balancer resources a CANARY deployment shifts between (the alb module's outputs) and the smoke hook it runs before production traffic. Required when deployment.strategy is CANARY; ignored with ROLLING."
  type = object({
    alternate_target_group_arn   = string
    production_listener_rule_arn = string
    test_listener_rule_arn       = string
    listener_arn                 = string
    smoke_hook_function_arn      = string
  })
  default = null
}

variable "collector" {
  description = "The metrics collector sidecar: Prometheus in agent mode scraping the service on loopback and remote-writing, signed with the task role, to one Amazon Managed Service for Prometheus workspace. image is pinned by digest and pulled from repository_arn (a pull-through cache repository); config is deploy/prometheus/collector.yml, whose placeholder URL, region and port are replaced here."
  type = object({
    image            = string
    repository_arn   = string
    config           = string
    remote_write_url = string
    workspace_arn    = string
    cpu              = optional(number, 64)
    memory           = optional(number, 128)
  })
  nullable = false

  validation {
    # A tag can be moved upstream; the digest names the bytes that were reviewed.
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.collector.image))
    error_message = "collector.image must be pinned by digest (<repository>@sha256:<64 hex>)."
  }
}
