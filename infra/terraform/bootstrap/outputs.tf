output "state_bucket_name" {
  description = "State bucket; pass as -backend-config=bucket=... and as var state_bucket_name."
  value       = aws_s3_bucket.state.id
}

output "state_kms_key_arn" {
  description = "KMS key of the state bucket; pass as -backend-config=kms_key_id=... and as var state_kms_key_arn."
  value       = aws_kms_key.state.arn
}

output "region" {
  description = "Region of the state bucket; pass as -backend-config=region=...."
  value       = var.region
}
