variable "name" {
  description = "Name of the function, its role and (as /aws/lambda/<name>) its log group."
  type        = string
}

variable "package_path" {
  description = "Path of the zip built by scripts/build-smoke-hook (the pipeline builds it before plan and apply)."
  type        = string
}

variable "smoke" {
  description = "What the hook tests and how: the base URL that reaches the test listener rule, the name of the header that rule matches, the per-request timeout, how many invocations may fail before the hook answers FAILED, the pause between them, and the service's time zone."
  type = object({
    url             = string
    header_name     = string
    timeout_seconds = optional(number, 5)
    attempts        = optional(number, 3)
    retry_seconds   = optional(number, 20)
    timezone        = optional(string, "UTC")
  })

  validation {
    condition     = startswith(var.smoke.url, "https://") || startswith(var.smoke.url, "http://")
    error_message = "smoke.url must be an http:// or https:// URL."
  }

  validation {
    # ECS gives a hook at most 15 minutes by default; every attempt must fit.
    condition     = var.smoke.attempts >= 1 && var.smoke.attempts * (6 * var.smoke.timeout_seconds + var.smoke.retry_seconds) <= 600
    error_message = "smoke.attempts must be at least 1, and all attempts (six requests each, plus the pause) must fit in 10 minutes."
  }
}

variable "test_traffic_key" {
  description = "Value of the smoke.header_name header the test listener rule matches (the alb module's test key)."
  type        = string
  sensitive   = true
}

variable "kms_key_arn" {
  description = "KMS key encrypting the log group and the function's environment (it holds the test key)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 365
}
