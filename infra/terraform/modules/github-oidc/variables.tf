variable "name" {
  description = "Name of the deploy role."
  type        = string
}

variable "github_repository" {
  description = "GitHub repository allowed to assume the role, as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name (give the numeric ids in github_repository_ids, not here); a wildcard would let other repositories deploy."
  }
}

variable "github_repository_ids" {
  description = "Immutable numeric ids of the repository's owner and of the repository (gh api repos/OWNER/NAME --jq '[.owner.id, .id]'). When set, the roles trust the subject form with ids (repo:owner@OWNER_ID/name@REPO_ID:...), which GitHub uses for repositories created or renamed since July 2026; accept_name_only keeps also trusting the name-only form while a repository may still use it. Null: the name-only form only."
  type = object({
    owner_id         = number
    repository_id    = number
    accept_name_only = optional(bool, true)
  })
  default = null

  validation {
    condition = var.github_repository_ids == null || (
      floor(var.github_repository_ids.owner_id) == var.github_repository_ids.owner_id && var.github_repository_ids.owner_id > 0 &&
      floor(var.github_repository_ids.repository_id) == var.github_repository_ids.repository_id && var.github_repository_ids.repository_id > 0
    )
    error_message = "github_repository_ids.owner_id and .repository_id are GitHub's positive integer ids (gh api repos/OWNER/NAME --jq '[.owner.id, .id]')."
  }
}

variable "github_environments" {
  description = "GitHub Actions environments whose jobs may assume the role."
  type        = list(string)
}

variable "github_branches" {
  description = "Branches whose environment-less jobs may assume the role. Empty by default: a branch subject would let any job on that branch skip the environment's required reviewers."
  type        = list(string)
  default     = []
}

variable "create_oidc_provider" {
  description = "Create the account's GitHub OIDC provider; set false when another configuration in the same account already did (there can be only one per URL)."
  type        = bool
  default     = true
}

variable "create_plan_role" {
  description = "Also create a read-only role that pull-request workflows assume for terraform plan."
  type        = bool
  default     = false
}

variable "ecr_repository_arn" {
  description = "Repository the pipeline pushes images to."
  type        = string
}

variable "ecs_service_arn" {
  description = "Service the pipeline rolls out."
  type        = string
}

variable "pass_role_arns" {
  description = "Task and execution roles the pipeline may hand to ECS in new task definitions."
  type        = list(string)
}

variable "ecs_deployment_role_arns" {
  description = "Roles ECS itself assumes in a canary deployment (load balancer shifts, lifecycle hooks); the service update names them, so the pipeline may pass them to ecs.amazonaws.com and nothing else."
  type        = list(string)
  default     = []
}

variable "smoke_hook_function_arn" {
  description = "The deployment's smoke hook function: the pipeline ships its code (UpdateFunctionCode) with the commit it deploys. Null: no hook."
  type        = string
  default     = null
}

variable "state_bucket_name" {
  description = "S3 bucket holding the Terraform state."
  type        = string
}

variable "state_key" {
  description = "Object key of this environment's state in that bucket."
  type        = string
}

variable "state_kms_key_arn" {
  description = "KMS key encrypting the state bucket."
  type        = string
}

variable "stack_bucket_prefix" {
  description = "Name prefix of the stack's own S3 buckets (the ALB access logs): plan refreshes them with HeadBucket, which needs s3:ListBucket."
  type        = string
}

variable "prometheus" {
  description = "The stack's Prometheus workspace and its rule group namespace: the deploy role may update the rules and the alert manager definition there, nothing else of the workspace."
  type = object({
    workspace_arn            = string
    rule_group_namespace_arn = string
  })
  nullable = false
}
