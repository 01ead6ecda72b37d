# The deployment's smoke test as an ECS lifecycle hook: a Lambda function, run
# from this repository's scripts/smoke_hook.py (package built by
# scripts/build-smoke-hook), that ECS invokes after the test traffic shift and
# before any production traffic reaches the new revision.

locals {
  # Lambda writes to /aws/lambda/<function name> unless told otherwise; the
  # group is created here so that it is encrypted and expires.
  log_group_name = "/aws/lambda/${var.name}"
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "Smoke hook Lambda function: write its own logs, nothing else"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
}

# Logs and nothing more: the checks are plain HTTPS requests to the service's
# public endpoint; the function calls no AWS API and runs outside the VPC, so it
# needs no network-interface permissions either.
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteItsLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "write-logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:Outside the VPC on purpose: it tests the public HTTPS endpoint, which the private subnets (no NAT) cannot reach.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by ECS, which reads the answer; a dead-letter queue only serves asynchronous invocations.
  #checkov:skip=CKV_AWS_115:One invocation per deployment; reserving concurrency fails in accounts at the default minimum of unreserved concurrency.
  #checkov:skip=CKV_AWS_272:The package is built from this repository by the pipeline and pinned by source_code_hash; no signing profile exists for it.
  #checkov:skip=CKV_AWS_50:The function makes six HTTP requests and logs each with its latency; X-Ray would need permissions beyond its logs.
  function_name = var.name
  description   = "ECS lifecycle hook: smoke-test the new revision through the test listener rule before production traffic"
  role          = aws_iam_role.this.arn
  runtime       = "python3.13"
  architectures = ["arm64"]
  handler       = "smoke_hook.handler"
  filename      = var.package_path
  # The package is reproducible, so the hash changes only with the hook's code.
  source_code_hash = filebase64sha256(var.package_path)
  memory_size      = 128
  # Six requests of at most smoke.timeout_seconds each, plus start-up.
  timeout = 6 * var.smoke.timeout_seconds + 10
  # The environment holds the test key.
  kms_key_arn = var.kms_key_arn

  environment {
    variables = {
      SMOKE_URL           = var.smoke.url
      SMOKE_HEADER_NAME   = var.smoke.header_name
      SMOKE_HEADER_VALUE  = var.test_traffic_key
      SMOKE_TIMEOUT       = tostring(var.smoke.timeout_seconds)
      SMOKE_ATTEMPTS      = tostring(var.smoke.attempts)
      SMOKE_RETRY_SECONDS = tostring(var.smoke.retry_seconds)
      HELLO_TIMEZONE      = var.smoke.timezone
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  depends_on = [aws_iam_role_policy.this]
}
