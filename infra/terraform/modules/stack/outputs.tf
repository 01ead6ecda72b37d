output "alb_dns_name" {
  description = "DNS name of the load balancer (CNAME/alias target if DNS is managed elsewhere)."
  value       = module.alb.alb_dns_name
}

output "url" {
  description = "Public HTTPS URL of the service."
  value       = module.alb.url
}

output "ecr_repository_url" {
  description = "Where the pipeline pushes the image (tag = git SHA)."
  value       = module.ecr.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster name."
  value       = module.service.cluster_name
}

output "ecs_service_name" {
  description = "ECS service name."
  value       = module.service.service_name
}

output "task_definition_family" {
  description = "Task definition family."
  value       = module.service.task_definition_family
}

output "image" {
  description = "Image the service runs."
  value       = module.service.image
}

output "dynamodb_table_name" {
  description = "DynamoDB table name."
  value       = module.dynamodb.table_name
}

output "sns_topic_arn" {
  description = "Alarm topic."
  value       = module.observability.sns_topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.observability.dashboard_name
}

output "log_group_name" {
  description = "Application log group."
  value       = module.service.log_group_name
}

output "github_deploy_role_arn" {
  description = "Role GitHub Actions assumes to deploy this environment."
  value       = module.github_oidc.role_arn
}

output "github_plan_role_arn" {
  description = "Read-only role pull requests assume to plan against this environment, or null."
  value       = module.github_oidc.plan_role_arn
}

output "auth_issuer" {
  description = "JWT issuer when auth is enabled, else null."
  value       = var.enable_auth ? module.auth[0].issuer : null
}

output "auth_client_id" {
  description = "Cognito app client (JWT audience) when auth is enabled, else null."
  value       = var.enable_auth ? module.auth[0].client_id : null
}

output "auth_user_pool_id" {
  description = "Cognito user pool when auth is enabled, else null."
  value       = var.enable_auth ? module.auth[0].user_pool_id : null
}

output "prometheus_workspace_id" {
  description = "ID of the Amazon Managed Service for Prometheus workspace the collectors write to."
  value       = module.prometheus.workspace_id
}

output "prometheus_query_url" {
  description = "SigV4-signed Prometheus query endpoint of the workspace (awscurl --service aps)."
  value       = module.prometheus.query_url
}
