locals {
  name = "hello-birthday-${var.environment}"

  # Tasks have no internet route; every AWS API they call needs an endpoint.
  # The JWKS of the user pool is served by cognito-idp; the collector
  # remote-writes to aps-workspaces.
  interface_endpoints = concat(["ecr.api", "ecr.dkr", "logs", "aps-workspaces"], var.enable_auth ? ["cognito-idp"] : [])

  # The collector's image, pulled from quay.io through the ECR pull-through
  # cache (docs/decisions/0009-service-metrics-in-aws.md).
  collector_upstream_repository = "prometheus/prometheus"
}

module "kms" {
  source = "../kms"

  name = local.name
}

module "network" {
  source = "../network"

  name                        = local.name
  vpc_cidr                    = var.network.vpc_cidr
  az_count                    = var.network.az_count
  interface_endpoint_services = local.interface_endpoints
  kms_key_arn                 = module.kms.key_arn
  flow_log_retention_days     = var.log_retention_days
}

module "ecr" {
  source = "../ecr"

  name         = local.name
  kms_key_arn  = module.kms.key_arn
  force_delete = var.protection.force_destroy
  # One prefix per stack: a pull-through cache prefix is unique in the registry.
  pull_through_cache = { prefix = "${local.name}-quay", upstream_registry_url = "quay.io" }
}

module "dynamodb" {
  source = "../dynamodb"

  table_name          = local.name
  kms_key_arn         = module.kms.key_arn
  deletion_protection = var.protection.deletion_protection
}

module "alb" {
  source = "../alb"

  name                     = local.name
  vpc_id                   = module.network.vpc_id
  public_subnet_ids        = module.network.public_subnet_ids
  domain_name              = var.dns.domain_name
  route53_zone_id          = var.dns.route53_zone_id
  certificate_arn          = var.dns.certificate_arn
  deletion_protection      = var.protection.deletion_protection
  force_destroy_log_bucket = var.protection.force_destroy
  kms_key_arn              = module.kms.key_arn
  waf_log_retention_days   = var.log_retention_days
  waf_rate_limit           = var.waf_rate_limit
}

module "auth" {
  source = "../auth"
  count  = var.enable_auth ? 1 : 0

  name                = local.name
  deletion_protection = var.protection.deletion_protection
}

# The alarms are named from local.name rather than from the service's outputs
# so that the service can reference them for rollback without a cycle.
module "observability" {
  source = "../observability"

  name                      = local.name
  kms_key_arn               = module.kms.key_arn
  alarm_email               = var.alarms.email
  alb_arn_suffix            = module.alb.alb_arn_suffix
  target_group_arn_suffixes = module.alb.target_group_arn_suffixes
  cluster_name              = local.name
  service_name              = local.name
  dynamodb_table_name       = module.dynamodb.table_name
  # The workspace's alert manager may publish to the topic.
  prometheus_workspace_arn = module.prometheus.workspace_arn
}

module "prometheus" {
  source = "../prometheus"

  name               = local.name
  kms_key_arn        = module.kms.key_arn
  sns_topic_arn      = module.observability.sns_topic_arn
  log_retention_days = var.log_retention_days
}

# The canary's smoke test: ECS runs it through the test listener rule before
# any production traffic reaches a new revision.
module "smoke_hook" {
  source = "../smoke-hook"

  name         = "${local.name}-smoke-hook"
  package_path = var.smoke_hook_package
  smoke = {
    url         = module.alb.url
    header_name = module.alb.test_traffic_header.name
  }
  test_traffic_key   = module.alb.test_traffic_header.value
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
}

module "service" {
  source = "../ecs-service"

  name = local.name
  network = {
    vpc_id                      = module.network.vpc_id
    private_subnet_ids          = module.network.private_subnet_ids
    endpoints_security_group_id = module.network.endpoints_security_group_id
    gateway_prefix_list_ids     = { dynamodb = module.network.dynamodb_prefix_list_id, s3 = module.network.s3_prefix_list_id }
  }
  load_balancer = {
    security_group_id = module.alb.security_group_id
    target_group_arn  = module.alb.target_group_arn
    resource_label    = "${module.alb.alb_arn_suffix}/${module.alb.target_group_arn_suffix}"
  }
  image = {
    repository_url = module.ecr.repository_url
    repository_arn = module.ecr.repository_arn
    tag            = var.image_tag
  }
  task = {
    cpu    = var.service.cpu
    memory = var.service.memory
    # HELLO_AUTH=none unless the auth module exists and overrides it with jwt.
    extra_environment = merge({ HELLO_AUTH = "none" }, [for auth in module.auth : auth.service_environment]...)
  }
  scaling = {
    desired_count = var.service.desired_count
    min_capacity  = var.service.min_capacity
    max_capacity  = var.service.max_capacity
  }
  table                  = { name = module.dynamodb.table_name, arn = module.dynamodb.table_arn }
  logs                   = { kms_key_arn = module.kms.key_arn, retention_days = var.log_retention_days }
  deployment             = var.deployment
  deployment_alarm_names = var.alarms.enable_deployment_alarms ? module.observability.deployment_alarm_names : []
  # A canary deployment takes its bake times and more; the pipeline waits for
  # its outcome itself (deploy.yml), with a timeout and a clear verdict.
  wait_for_steady_state = false
  canary = {
    alternate_target_group_arn   = module.alb.alternate_target_group_arn
    production_listener_rule_arn = module.alb.production_listener_rule_arn
    test_listener_rule_arn       = module.alb.test_listener_rule_arn
    listener_arn                 = module.alb.https_listener_arn
    smoke_hook_function_arn      = module.smoke_hook.function_arn
  }

  collector = {
    image            = "${module.ecr.pull_through_cache_url_prefix}/${local.collector_upstream_repository}@${var.collector_image_digest}"
    repository_arn   = "${module.ecr.pull_through_cache_arn_prefix}/${local.collector_upstream_repository}"
    config           = file("${path.module}/../../../../deploy/prometheus/collector.yml")
    remote_write_url = module.prometheus.remote_write_url
    workspace_arn    = module.prometheus.workspace_arn
  }
}

module "github_oidc" {
  source = "../github-oidc"

  name                  = "${local.name}-github-deploy"
  github_repository     = var.github.repository
  github_repository_ids = var.github.repository_ids
  github_environments   = [var.environment]
  create_oidc_provider  = var.github.create_oidc_provider
  create_plan_role      = var.github.create_plan_role
  ecr_repository_arn    = module.ecr.repository_arn
  ecs_service_arn       = module.service.service_arn
  pass_role_arns        = [module.service.task_role_arn, module.service.execution_role_arn]
  # ECS's own deployment roles and the hook's code, for canary deploys.
  ecs_deployment_role_arns = module.service.deployment_role_arns
  smoke_hook_function_arn  = module.smoke_hook.function_arn
  prometheus               = { workspace_arn = module.prometheus.workspace_arn, rule_group_namespace_arn = module.prometheus.rule_group_namespace_arn }
  stack_bucket_prefix      = module.alb.log_bucket_prefix
  state_bucket_name        = var.state.bucket_name
  state_key                = var.state.key
  state_kms_key_arn        = var.state.kms_key_arn
}
