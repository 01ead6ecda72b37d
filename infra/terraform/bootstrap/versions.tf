terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "6.69.1" # exact, as in the environments
    }
  }

  # Local state: this configuration creates the bucket every other state lives
  # in. Its state is tiny and can be migrated into that bucket afterwards.
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = "hello-birthday"
      Component = "terraform-state"
      ManagedBy = "terraform"
    }
  }
}
