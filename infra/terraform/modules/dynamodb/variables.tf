variable "table_name" {
  description = "Name of the table (the service reads it from HELLO_DYNAMODB_TABLE)."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for server-side encryption."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse DeleteTable until this is switched off (on in prod)."
  type        = bool
  default     = true
}
