output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "Availability Zones the subnets are in."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "Public subnets (one per AZ), for the load balancer."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (one per AZ), for the tasks."
  value       = aws_subnet.private[*].id
}

output "dynamodb_prefix_list_id" {
  description = "Managed prefix list of the DynamoDB gateway endpoint, for security group egress rules."
  value       = aws_vpc_endpoint.gateway["dynamodb"].prefix_list_id
}

output "s3_prefix_list_id" {
  description = "Managed prefix list of the S3 gateway endpoint (ECR image layers), for security group egress rules."
  value       = aws_vpc_endpoint.gateway["s3"].prefix_list_id
}

output "endpoints_security_group_id" {
  description = "Security group of the interface endpoints."
  value       = aws_security_group.endpoints.id
}
