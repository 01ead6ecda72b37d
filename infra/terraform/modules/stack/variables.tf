variable "environment" {
  description = "Deployment environment; names every resource hello-birthday-<environment>."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the environment's VPC."
  type        = string
  default     = "10.0.0.0/16"
}

variable "az_count" {
  description = "Availability Zones to run in (2 or 3)."
  type        = number
  default     = 2
}

variable "image_tag" {
  description = "Full git SHA of the image to run (validated by the ecs-service module)."
  type        = string
}

variable "cpu" {
  description = "Task CPU units (1024 = 1 vCPU)."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Task memory in MiB (valid Fargate pairing with cpu)."
  type        = number
  default     = 1024
}

variable "desired_count" {
  description = "Tasks started at creation."
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

variable "domain_name" {
  description = "Public host name of the service."
  type        = string
}

variable "route53_zone_id" {
  description = "Public hosted zone for domain_name (certificate validation and alias record); null to manage DNS elsewhere."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "Existing ACM certificate; null requests one validated through route53_zone_id."
  type        = string
  default     = null
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic, or null."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Protect the table, load balancer and user pool against deletion."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty ECR repository and log bucket (throw-away environments only)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of application, WAF and flow log groups, in days."
  type        = number
  default     = 365
}

variable "enable_deployment_alarms" {
  description = "Roll a deployment back when the load balancer's or a target group's 5xx-rate or p99-latency alarm fires during it."
  type        = bool
  default     = true
}

variable "enable_auth" {
  description = "Create a Cognito user pool and switch the service to JWT authentication (HELLO_AUTH=jwt)."
  type        = bool
  default     = false
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows deploy this environment."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account-wide GitHub OIDC provider here (false if another environment in the same account owns it)."
  type        = bool
  default     = true
}

variable "create_github_plan_role" {
  description = "Create the read-only role pull requests assume to plan against this environment."
  type        = bool
  default     = false
}

variable "state_bucket_name" {
  description = "Terraform state bucket (output of the bootstrap configuration)."
  type        = string
}

variable "state_kms_key_arn" {
  description = "KMS key of the state bucket (output of the bootstrap configuration)."
  type        = string
}

variable "state_key" {
  description = "Object key of this environment's state, as in its backend block."
  type        = string
}

variable "github_repository_ids" {
  description = "Immutable ids of the GitHub repository's owner and of the repository, for the subject form GitHub uses for repositories created or renamed since July 2026 (see modules/github-oidc); null trusts the name-only form only."
  type = object({
    owner_id         = number
    repository_id    = number
    accept_name_only = optional(bool, true)
  })
  default = null
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
