output "function_arn" {
  description = "ARN of the smoke hook function (the lifecycle hook's target)."
  value       = aws_lambda_function.this.arn
}

output "function_name" {
  description = "Name of the smoke hook function."
  value       = aws_lambda_function.this.function_name
}

output "log_group_name" {
  description = "Log group of the smoke hook: one line per check, and the verdict."
  value       = aws_cloudwatch_log_group.this.name
}
