variable "environment" {
  description = "Deployment environment; names every resource hello-birthday-<environment>."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "network" {
  description = "The environment's VPC: its IPv4 CIDR and how many Availability Zones it spans (2 or 3)."
  type = object({
    vpc_cidr = optional(string, "10.0.0.0/16")
    az_count = optional(number, 2)
  })
  default = {}
}

variable "service" {
  description = "Size of the service: task CPU units (1024 = 1 vCPU) and memory in MiB (a valid Fargate pairing), tasks started at creation, and the autoscaling floor and ceiling."
  type = object({
    cpu           = optional(number, 512)
    memory        = optional(number, 1024)
    desired_count = optional(number, 2)
    min_capacity  = optional(number, 2)
    max_capacity  = optional(number, 6)
  })
  default = {}
}

variable "dns" {
  description = "The public entry point: the service's host name, the public hosted zone for it (certificate validation and alias record; null to manage DNS elsewhere), and an existing ACM certificate (null requests one validated through the zone)."
  type = object({
    domain_name     = string
    route53_zone_id = optional(string)
    certificate_arn = optional(string)
  })
}

variable "alarms" {
  description = "Who hears of alarms and what they do: the address subscribed to the alarm topic (or null), and whether a deployment rolls back when the load balancer's or a target group's 5xx-rate or p99-latency alarm fires during it."
  type = object({
    email                    = optional(string)
    enable_deployment_alarms = optional(bool, true)
  })
  default = {}
}

variable "protection" {
  description = "Protect the table, load balancer and user pool against deletion (deletion_protection), or let terraform destroy delete a non-empty ECR repository and log bucket (force_destroy: throw-away environments only)."
  type = object({
    deletion_protection = optional(bool, true)
    force_destroy       = optional(bool, false)
  })
  default = {}
}

variable "github" {
  description = "The GitHub repository (owner/name) whose workflows deploy this environment; its immutable owner and repository ids, for the subject form GitHub uses for repositories created or renamed since July 2026 (see modules/github-oidc; null trusts the name-only form only); whether to create the account-wide GitHub OIDC provider here (false if another environment in the same account owns it); and whether to create the read-only role pull requests assume to plan against this environment."
  type = object({
    repository = string
    repository_ids = optional(object({
      owner_id         = number
      repository_id    = number
      accept_name_only = optional(bool, true)
    }))
    create_oidc_provider = optional(bool, true)
    create_plan_role     = optional(bool, false)
  })
}

variable "state" {
  description = "This environment's Terraform state: the bucket and its KMS key (outputs of the bootstrap configuration), and the object key, as in the environment's backend block."
  type = object({
    bucket_name = string
    kms_key_arn = string
    key         = string
  })
}

variable "image_tag" {
  description = "Full git SHA of the image to run (validated by the ecs-service module)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of application, WAF and flow log groups, in days."
  type        = number
  default     = 365
}

variable "enable_auth" {
  description = "Create a Cognito user pool and switch the service to JWT authentication (HELLO_AUTH=jwt)."
  type        = bool
  default     = false
}

variable "waf_rate_limit" {
  description = "Requests per client IP per 5-minute window before WAF blocks it. Staging's must leave room for two runs of the pipeline's load test within one window (a re-run), which all come from one runner address."
  type        = number
  default     = 2000
}

variable "deployment" {
  description = "How the service deploys (see modules/ecs-service): strategy CANARY or ROLLING, the canary's share of production traffic and its bake time, and the bake time after the full shift. Unset attributes take the module's defaults (CANARY, 10 %, 10 and 10 minutes)."
  type = object({
    strategy                    = optional(string)
    canary_percent              = optional(number)
    canary_bake_time_in_minutes = optional(number)
    bake_time_in_minutes        = optional(number)
    hook_timeout_in_minutes     = optional(number)
  })
  default = {}
}

variable "smoke_hook_package" {
  description = "Path of the smoke hook's Lambda package, built by scripts/build-smoke-hook before plan and apply."
  type        = string
}

variable "collector_image_digest" {
  description = "Digest of the quay.io/prometheus/prometheus image index the collector runs (v2.54.1, linux/amd64 and linux/arm64): the 2.x line of the Debian Prometheus the tests run its config with. Changing it is a reviewed change, like a dependency bump."
  type        = string
  default     = "sha256:f6639335d34a77d9d9db382b92eeb7fc00934be8eae81dbc03b31cfe90411a94"

  validation {
    condition     = can(regex("^sha256:[0-9a-f]{64}$", var.collector_image_digest))
    error_message = "collector_image_digest must be sha256:<64 lowercase hex>."
  }
}
