output "workspace_arn" {
  description = "ARN of the workspace; the task role may remote-write to it and nothing else."
  value       = aws_prometheus_workspace.this.arn
}

output "rule_group_namespace_arn" {
  description = "ARN of the rule group namespace (deploy/prometheus/rules.yml); the deploy role may update it."
  value       = aws_prometheus_rule_group_namespace.this.arn
}

output "workspace_id" {
  description = "ID of the workspace."
  value       = aws_prometheus_workspace.this.id
}

output "remote_write_url" {
  description = "Remote-write URL the collectors send to (through the aps-workspaces VPC endpoint)."
  value       = "${aws_prometheus_workspace.this.prometheus_endpoint}api/v1/remote_write"
}

output "query_url" {
  description = "Prometheus-compatible query endpoint (SigV4-signed), e.g. for awscurl or Grafana."
  value       = "${aws_prometheus_workspace.this.prometheus_endpoint}api/v1/query"
}

output "log_group_name" {
  description = "Log group of the workspace's rule evaluation and alert manager."
  value       = aws_cloudwatch_log_group.this.name
}
