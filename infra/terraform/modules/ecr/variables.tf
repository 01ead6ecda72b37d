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

variable "pull_through_cache" {
  description = "Pull-through cache rule for third-party images: repositories under prefix mirror upstream_registry_url (a registry that needs no credentials). The prefix is registry-wide, so it must be unique per stack in one account and region. null creates none."
  type = object({
    prefix                = string
    upstream_registry_url = optional(string, "quay.io")
  })
  default = null
}
