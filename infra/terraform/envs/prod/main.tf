locals {
  environment = "prod"
  # Must equal the backend key in versions.tf (backend blocks cannot use locals).
  state_key = "hello-birthday/prod/terraform.tfstate"
}

# Prod keeps at least two tasks in three AZs so that losing a task or a zone
# never takes the service down, and protects the data and the entry point.
module "stack" {
  source = "../../modules/stack"

  environment = local.environment
  network     = { vpc_cidr = "10.20.0.0/16", az_count = 3 }
  service = {
    cpu           = 1024
    memory        = 2048
    desired_count = 2
    min_capacity  = 2
    max_capacity  = 6
  }

  image_tag = var.image_tag

  # Per client address per 5 minutes; the pipeline does not load test prod.
  waf_rate_limit = 2000

  # 10 % of production for 10 minutes: long enough for the per-target-group
  # alarms (2 bad minutes of 3, plus CloudWatch's delay) to roll a bad canary
  # back; then 10 minutes with the old revision still ready.
  deployment = {
    strategy                    = "CANARY"
    canary_percent              = 10
    canary_bake_time_in_minutes = 10
    bake_time_in_minutes        = 10
  }
  # Built by scripts/build-smoke-hook (the pipeline runs it before Terraform).
  smoke_hook_package = "${path.root}/../../../../build/smoke-hook.zip"

  dns = {
    domain_name     = var.domain_name
    route53_zone_id = var.route53_zone_id
    certificate_arn = var.certificate_arn
  }
  alarms             = { email = var.alarm_email }
  protection         = { deletion_protection = true, force_destroy = false }
  log_retention_days = 365
  enable_auth        = var.enable_auth

  github = {
    repository           = var.github_repository
    repository_ids       = var.github_repository_ids
    create_oidc_provider = var.create_github_oidc_provider
    create_plan_role     = false
  }
  state = {
    bucket_name = var.state_bucket_name
    kms_key_arn = var.state_kms_key_arn
    key         = local.state_key
  }
}
