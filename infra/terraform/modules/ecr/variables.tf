variable "name" {
  description = "Repository name."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts images at rest."
  type        = string
}

variable "keep_tagged_images" {
  description = "How many git-SHA-tagged images to keep; older ones expire (rollbacks need only the last few)."
  type        = number
  default     = 30
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images (failed or superseded pushes) expire."
  type        = number
  default     = 7
}

variable "force_delete" {
  description = "Delete the repository even if it still holds images (only sensible for throw-away environments)."
  type        = bool
  default     = false
}
