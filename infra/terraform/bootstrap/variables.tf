variable "region" {
  description = "Region of the state bucket (use the environments' region)."
  type        = string
  default     = "us-east-1"
}

variable "bucket_prefix" {
  description = "Prefix of the state bucket name; the account ID and region are appended to make it globally unique."
  type        = string
  default     = "hello-birthday-tfstate"
}

variable "noncurrent_version_retention_days" {
  description = "Days old state versions are kept for recovery."
  type        = number
  default     = 90
}
