variable "name" {
  description = "Name prefix of the stack (the ALB, WAF and log names are derived from it; keep it at most 32 characters, the ALB name limit)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the load balancer and its targets."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets, one per AZ, for the load balancer."
  type        = list(string)
}

variable "domain_name" {
  description = "Public host name the service answers on (certificate subject and optional Route 53 record)."
  type        = string
}

variable "route53_zone_id" {
  description = "Public hosted zone for domain_name. When set, the certificate is validated through it and an alias record is created; when null, certificate_arn must be given."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "Existing ACM certificate for domain_name. When null a DNS-validated certificate is requested (needs route53_zone_id)."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn != null || var.route53_zone_id != null
    error_message = "Give either certificate_arn or route53_zone_id: without one the HTTPS listener has no certificate it can use."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener (TLS 1.3 and 1.2 with forward-secret ciphers only)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "target_port" {
  description = "Container port the target group forwards to."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "Readiness path probed by the target group (503 while the task drains)."
  type        = string
  default     = "/readyz"
}

variable "deregistration_delay" {
  description = "Seconds ECS waits, after deregistering a task's target and before sending it SIGTERM, for its in-flight requests to finish; at least the app's longest request (HELLO_SHUTDOWN_TIMEOUT, 20 s)."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Protect the load balancer against deletion."
  type        = bool
  default     = true
}

variable "access_log_retention_days" {
  description = "Days ALB access logs are kept in S3."
  type        = number
  default     = 90
}

variable "force_destroy_log_bucket" {
  description = "Allow destroying the access-log bucket while it still holds logs."
  type        = bool
  default     = false
}

variable "waf_rate_limit" {
  description = "Requests per client IP per 5-minute window before WAF blocks it."
  type        = number
  default     = 2000
}

variable "waf_log_retention_days" {
  description = "Retention of the WAF log group, in days."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key for the WAF log group."
  type        = string
}
