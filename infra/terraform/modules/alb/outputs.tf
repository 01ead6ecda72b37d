output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "alb_arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch LoadBalancer dimension)."
  value       = aws_lb.this.arn_suffix
}

output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer, for alias records."
  value       = aws_lb.this.zone_id
}

output "security_group_id" {
  description = "Security group of the load balancer."
  value       = aws_security_group.alb.id
}

output "target_group_arn" {
  description = "ARN of the target group the service registers into (read through the listener so the service waits for it)."
  value       = aws_lb_listener.https.default_action[0].target_group_arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (CloudWatch TargetGroup dimension)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "https_listener_arn" {
  description = "ARN of the HTTPS listener."
  value       = aws_lb_listener.https.arn
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL attached to the load balancer."
  value       = aws_wafv2_web_acl.this.arn
}

output "access_logs_bucket" {
  description = "S3 bucket receiving the access logs."
  value       = aws_s3_bucket.logs.id
}

output "url" {
  description = "Public HTTPS URL of the service."
  value       = "https://${var.domain_name}"
}

output "log_bucket_prefix" {
  description = "Name prefix of the access-log bucket, for IAM policies that must read it before it exists."
  value       = local.log_bucket_prefix
}
