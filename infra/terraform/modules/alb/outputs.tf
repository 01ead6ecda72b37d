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
  description = "ARN of the target group the service starts in; a canary deployment moves it to alternate_target_group_arn and the next one back. Available only once the production rule forwards to it, so a service created from it never registers into a group no listener uses."
  value       = aws_lb_target_group.this["primary"].arn
  depends_on  = [aws_lb_listener_rule.production, aws_lb_listener_rule.test]
}

output "alternate_target_group_arn" {
  description = "ARN of the second target group, where a canary deployment registers the new revision when the service is in the first."
  value       = aws_lb_target_group.this["alternate"].arn
}

output "target_group_arns" {
  description = "Both target groups' ARNs, keyed primary and alternate (for IAM policies scoped to them)."
  value       = { for key, group in aws_lb_target_group.this : key => group.arn }
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group the service starts in (CloudWatch TargetGroup dimension)."
  value       = aws_lb_target_group.this["primary"].arn_suffix
}

output "target_group_arn_suffixes" {
  description = "CloudWatch TargetGroup dimensions of both target groups, keyed primary and alternate (keys fixed in the configuration, so alarms can for_each over them)."
  value       = { for key, group in aws_lb_target_group.this : key => group.arn_suffix }
}

output "production_listener_rule_arn" {
  description = "ARN of the HTTPS listener rule that carries production traffic; ECS shifts its weights."
  value       = aws_lb_listener_rule.production.arn
}

output "test_listener_rule_arn" {
  description = "ARN of the HTTPS listener rule that forwards requests carrying the test key to the new revision during a deployment."
  value       = aws_lb_listener_rule.test.arn
}

output "test_traffic_header" {
  description = "Name and value of the header the test listener rule matches; only the smoke hook is given it."
  value       = { name = local.test_traffic_header, value = terraform_data.test_traffic_key.output }
  sensitive   = true
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
