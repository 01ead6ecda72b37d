output "repository_name" {
  description = "Name of the repository."
  value       = aws_ecr_repository.this.name
}

output "repository_url" {
  description = "URL to push to and pull from (without tag)."
  value       = aws_ecr_repository.this.repository_url
}

output "repository_arn" {
  description = "ARN of the repository, for scoping pull and push permissions."
  value       = aws_ecr_repository.this.arn
}

output "pull_through_cache_url_prefix" {
  description = "<registry>/<prefix> under which upstream images are pulled through ECR (null without a pull-through cache rule)."
  value       = var.pull_through_cache == null ? null : "${split("/", aws_ecr_repository.this.repository_url)[0]}/${aws_ecr_pull_through_cache_rule.this[0].ecr_repository_prefix}"
}

output "pull_through_cache_arn_prefix" {
  description = "ARN prefix (arn:...:repository/<prefix>) of the repositories the pull-through cache creates (null without a rule)."
  value       = var.pull_through_cache == null ? null : "${split(":repository/", aws_ecr_repository.this.arn)[0]}:repository/${aws_ecr_pull_through_cache_rule.this[0].ecr_repository_prefix}"
}
