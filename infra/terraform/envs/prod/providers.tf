provider "aws" {
  region              = var.region
  allowed_account_ids = var.allowed_account_ids

  default_tags {
    tags = {
      Project     = "hello-birthday"
      Environment = local.environment
      ManagedBy   = "terraform"
      Repository  = var.github_repository
    }
  }
}
