variable "name" {
  description = "Name of the cluster, service, task family and log group (e.g. hello-birthday-prod)."
  type        = string
}

variable "network" {
  description = "Where the tasks run and what they may reach: the VPC, its private subnets (one per AZ; Fargate spreads the tasks over them), the security group of the interface VPC endpoints (ECR, CloudWatch Logs, Prometheus) and the prefix lists of the gateway endpoints the tasks may send HTTPS to, keyed by a name fixed in the configuration (e.g. dynamodb, s3): the ids are known only after apply, the keys must be known at plan."
  type = object({
    vpc_id                      = string
    private_subnet_ids          = list(string)
    endpoints_security_group_id = string
    gateway_prefix_list_ids     = map(string)
  })
}

variable "load_balancer" {
  description = "The load balancer in front: its security group (the only source allowed to reach the container port), the target group the service registers its tasks into, <alb arn_suffix>/<target group arn_suffix> (the resource label of the ALBRequestCountPerTarget metric), and the seconds ECS ignores failing health checks of a new task."
  type = object({
    security_group_id                 = string
    target_group_arn                  = string
    resource_label                    = string
    health_check_grace_period_seconds = optional(number, 30)
  })
}

variable "image" {
  description = "The image to run: ECR repository URL (without tag) and ARN (the execution role may pull from it and nothing else), and the immutable tag, the full 40-character git commit SHA."
  type = object({
    repository_url = string
    repository_arn = string
    tag            = string
  })

  validation {
    # A mutable tag like latest would make a rollback or a new task silently
    # run different code.
    condition     = can(regex("^[0-9a-f]{40}$", var.image.tag))
    error_message = "image.tag must be a full 40-character lowercase git SHA, never latest or another mutable tag."
  }
}

variable "task" {
  description = "The task and its container: CPU units (1024 = 1 vCPU; also sets HELLO_WORKERS), memory in MiB (a valid Fargate pairing for cpu), the port the service listens on (HELLO_PORT), HELLO_LOG_LEVEL, and additional container environment variables (e.g. HELLO_AUTH and the HELLO_JWT_* settings)."
  type = object({
    cpu               = optional(number, 512)
    memory            = optional(number, 1024)
    container_port    = optional(number, 8080)
    log_level         = optional(string, "INFO")
    extra_environment = optional(map(string), {})
  })
  default = {}

  validation {
    # Fargate rejects other pairings only at deploy time.
    condition = (
      var.task.cpu == 256 ? contains([512, 1024, 2048], var.task.memory) :
      var.task.cpu == 512 ? var.task.memory >= 1024 && var.task.memory <= 4096 && var.task.memory % 1024 == 0 :
      var.task.cpu == 1024 ? var.task.memory >= 2048 && var.task.memory <= 8192 && var.task.memory % 1024 == 0 :
      var.task.cpu == 2048 ? var.task.memory >= 4096 && var.task.memory <= 16384 && var.task.memory % 1024 == 0 :
      var.task.cpu == 4096 ? var.task.memory >= 8192 && var.task.memory <= 30720 && var.task.memory % 1024 == 0 :
      false
    )
    error_message = "task cpu/memory is not a Fargate combination (256: 512-2048, 512: 1024-4096, 1024: 2048-8192, 2048: 4096-16384, 4096: 8192-30720 MiB in 1 GiB steps)."
  }
}

variable "scaling" {
  description = "How many tasks: desired_count to start with (autoscaling moves it between min_capacity and max_capacity afterwards), the target average CPU utilisation in percent, and the target ALB requests per task per minute."
  type = object({
    desired_count       = optional(number, 2)
    min_capacity        = optional(number, 2)
    max_capacity        = optional(number, 6)
    cpu_target_percent  = optional(number, 60)
    requests_per_target = optional(number, 3000)
  })
  default = {}
}

variable "table" {
  description = "The DynamoDB table the service stores birthdays in: its name, and its ARN, to which the task role is limited."
  type = object({
    name = string
    arn  = string
  })
}

variable "logs" {
  description = "The application log group: the KMS key encrypting it and its retention in days."
  type = object({
    kms_key_arn    = string
    retention_days = optional(number, 365)
  })
}

variable "shutdown" {
  description = "How a task stops: HELLO_DRAIN_SECONDS (after SIGTERM /readyz answers 503 for this long while requests are still served), HELLO_SHUTDOWN_TIMEOUT (longest wait for in-flight requests after the drain), and the container's stopTimeout (time between SIGTERM and SIGKILL), which must cover both, the supervisor's own 5 s kill margin and 5 s to spare."
  type = object({
    drain_seconds            = optional(number, 5)
    shutdown_timeout_seconds = optional(number, 20)
    stop_timeout_seconds     = optional(number, 40)
  })
  default = {}

  validation {
    # The supervisor waits drain + shutdown timeout + 5 s before it kills the
    # server itself; SIGKILL from ECS must come later still, or the supervisor's
    # clean exit and its last log lines are cut off.
    condition     = var.shutdown.stop_timeout_seconds >= var.shutdown.drain_seconds + var.shutdown.shutdown_timeout_seconds + 10 && var.shutdown.stop_timeout_seconds <= 120
    error_message = "shutdown.stop_timeout_seconds must be at least drain_seconds + shutdown_timeout_seconds + 10 (the supervisor's 5 s kill margin and 5 s to spare) and Fargate allows at most 120."
  }
}

variable "container_insights" {
  description = "Container Insights mode of the cluster (enabled or enhanced)."
  type        = string
  default     = "enabled"
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
