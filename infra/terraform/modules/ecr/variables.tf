variable "name" {
  description = "Repository name."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts images at rest."
  type        = string
}

variable "keep_tagged_images" {
  description = "How many git-SHA-tagged images (deploys) to keep for rollbacks; older ones expire with their platform manifests."
  type        = number
  default     = 30
}

variable "platforms_per_image" {
  description = "Platform manifests under each pushed image index (linux/amd64 and linux/arm64): the untagged images kept per tagged one."
  type        = number
  default     = 2
}

variable "force_delete" {
  description = "Delete the repository even if it still holds images (only sensible for throw-away environments)."
  type        = bool
  default     = false
}
