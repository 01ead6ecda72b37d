locals {
  environment = "staging"
  # Must equal the backend key in versions.tf (backend blocks cannot use locals).
  state_key = "hello-birthday/staging/terraform.tfstate"
}

# Staging is the smallest thing that still exercises a real rolling deploy:
# two AZs, one task that may scale to two, and nothing protected from destroy.
module "stack" {
  source = "../../modules/stack"

  environment = local.environment
  network     = { vpc_cidr = "10.10.0.0/16", az_count = 2 }
  service = {
    cpu           = 512
    memory        = 1024
    desired_count = 1
    min_capacity  = 1
    max_capacity  = 2
  }

  image_tag = var.image_tag

  # The pipeline's load test (main.yml: 20/s for 60 s, plus seeds and the smoke
  # test) comes from one address; a re-run within 5 minutes doubles it.
  waf_rate_limit = 3000

  # Faster than prod: half the traffic for 3 minutes, then 2 minutes of bake.
  # Staging's gates are the smoke hook and the load test after the deploy; the
  # short bakes still let a fast-failing release trip the alarms.
  deployment = {
    strategy                    = "CANARY"
    canary_percent              = 50
    canary_bake_time_in_minutes = 3
    bake_time_in_minutes        = 2
  }
  # Built by scripts/build-smoke-hook (the pipeline runs it before Terraform).
  smoke_hook_package = "${path.root}/../../../../build/smoke-hook.zip"

  dns = {
    domain_name     = var.domain_name
    route53_zone_id = var.route53_zone_id
    certificate_arn = var.certificate_arn
  }
  alarms             = { email = var.alarm_email }
  protection         = { deletion_protection = false, force_destroy = true }
  log_retention_days = 365
  enable_auth        = var.enable_auth

  github = {
    repository           = var.github_repository
    repository_ids       = var.github_repository_ids
    create_oidc_provider = var.create_github_oidc_provider
    create_plan_role     = true
  }
  state = {
    bucket_name = var.state_bucket_name
    kms_key_arn = var.state_kms_key_arn
    key         = local.state_key
  }
}
