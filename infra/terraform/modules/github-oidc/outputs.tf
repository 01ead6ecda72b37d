output "role_arn" {
  description = "ARN of the deploy role (configure-aws-credentials role-to-assume)."
  value       = aws_iam_role.deploy.arn
}

output "plan_role_arn" {
  description = "ARN of the read-only pull-request plan role, or null when not created."
  value       = var.create_plan_role ? aws_iam_role.plan[0].arn : null
}

output "role_name" {
  description = "Name of the deploy role."
  value       = aws_iam_role.deploy.name
}

output "oidc_provider_arn" {
  description = "ARN of the GitHub OIDC provider the role trusts."
  value       = local.oidc_provider_arn
}

output "trusted_subjects" {
  description = "Token subjects allowed to assume the role."
  value       = local.subjects
}
