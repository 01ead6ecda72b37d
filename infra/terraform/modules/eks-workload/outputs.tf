output "role_arn" {
  description = "ARN of the role the release's pods get through Pod Identity."
  value       = aws_iam_role.this.arn
}

output "table_name" {
  description = "Name of the table."
  value       = module.dynamodb.table_name
}

output "table_arn" {
  description = "ARN of the table, the only resource the role may touch."
  value       = module.dynamodb.table_arn
}

output "association_id" {
  description = "ID of the Pod Identity association."
  value       = aws_eks_pod_identity_association.this.association_id
}

output "helm_values" {
  description = "The chart values that must agree with this module, for `helm install --set`."
  value = {
    "config.dynamodbTable" = module.dynamodb.table_name
    "config.awsRegion"     = data.aws_region.current.region
    "serviceAccount.name"  = var.cluster.service_account
  }
}
