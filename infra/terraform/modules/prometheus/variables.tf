variable "name" {
  description = "Stack name: the workspace alias, the rule group namespace and part of the log group name."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the workspace's data and its log group; its policy must admit the workspace (see the kms module)."
  type        = string
}

variable "sns_topic_arn" {
  description = "SNS topic the workspace's alert manager sends every alert to; its policy must let aps.amazonaws.com publish for this workspace."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the workspace's rule and alert manager log group, in days."
  type        = number
  default     = 365
}
