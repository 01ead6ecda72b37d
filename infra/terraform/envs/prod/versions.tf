terraform {
  # 1.10 brings S3-native state locking (use_lockfile).
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Exactly the version staging ran and tools/tf_schema validated: a range
      # would let each init pick a newer 6.x.
      version = "6.69.1"
    }
  }

  # bucket and region come from -backend-config (see ../../README.md), so the
  # account-specific bucket name is not committed.
  backend "s3" {
    key          = "hello-birthday/prod/terraform.tfstate"
    use_lockfile = true
    encrypt      = true
  }
}
