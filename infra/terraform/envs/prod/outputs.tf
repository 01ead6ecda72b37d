output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = module.stack.alb_dns_name
}

output "url" {
  description = "Public HTTPS URL of the service."
  value       = module.stack.url
}

output "ecr_repository_url" {
  description = "Repository the pipeline pushes to."
  value       = module.stack.ecr_repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster name."
  value       = module.stack.ecs_cluster_name
}

output "ecs_service_name" {
  description = "ECS service name."
  value       = module.stack.ecs_service_name
}

output "task_definition_family" {
  description = "Task definition family."
  value       = module.stack.task_definition_family
}

output "image" {
  description = "Image the service runs."
  value       = module.stack.image
}

output "dynamodb_table_name" {
  description = "DynamoDB table name."
  value       = module.stack.dynamodb_table_name
}

output "sns_topic_arn" {
  description = "Alarm topic."
  value       = module.stack.sns_topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = module.stack.dashboard_name
}

output "log_group_name" {
  description = "Application log group."
  value       = module.stack.log_group_name
}

output "github_deploy_role_arn" {
  description = "Role GitHub Actions assumes to deploy this environment."
  value       = module.stack.github_deploy_role_arn
}

output "github_plan_role_arn" {
  description = "Read-only role pull requests assume to plan (staging), or null."
  value       = module.stack.github_plan_role_arn
}

output "auth_issuer" {
  description = "JWT issuer when auth is enabled, else null."
  value       = module.stack.auth_issuer
}

output "auth_client_id" {
  description = "Cognito app client (JWT audience) when auth is enabled, else null."
  value       = module.stack.auth_client_id
}

output "auth_user_pool_id" {
  description = "Cognito user pool when auth is enabled, else null."
  value       = module.stack.auth_user_pool_id
}

output "prometheus_workspace_id" {
  description = "Amazon Managed Service for Prometheus workspace the task collectors write to."
  value       = module.stack.prometheus_workspace_id
}

output "prometheus_query_url" {
  description = "SigV4-signed Prometheus query endpoint of the workspace (awscurl --service aps)."
  value       = module.stack.prometheus_query_url
}
