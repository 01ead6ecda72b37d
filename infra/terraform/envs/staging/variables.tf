variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "us-east-1"
}

variable "allowed_account_ids" {
  description = "Accounts this configuration may be applied to (guards against the wrong credentials); null allows any."
  type        = list(string)
  default     = null
}

variable "image_tag" {
  description = "Full git SHA of the image to deploy (the pipeline passes github.sha)."
  type        = string
}

variable "domain_name" {
  description = "Public host name of the service."
  type        = string
}

variable "route53_zone_id" {
  description = "Public hosted zone of domain_name; null if DNS and certificate are managed elsewhere."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "Existing ACM certificate for domain_name; null requests one through route53_zone_id."
  type        = string
  default     = null
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic, or null."
  type        = string
  default     = null
}

variable "github_repository" {
  description = "owner/name of the GitHub repository that deploys this environment."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider in this environment (false if staging and prod share an account and the other one owns it)."
  type        = bool
  default     = true
}

variable "state_bucket_name" {
  description = "Terraform state bucket (bootstrap output state_bucket_name)."
  type        = string
}

variable "state_kms_key_arn" {
  description = "KMS key of the state bucket (bootstrap output state_kms_key_arn)."
  type        = string
}

variable "enable_auth" {
  description = "Create a Cognito user pool and require JWTs (HELLO_AUTH=jwt); off until the auth issue ships."
  type        = bool
  default     = false
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
