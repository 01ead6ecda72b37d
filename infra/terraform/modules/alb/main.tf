data "aws_caller_identity" "current" {}

data "aws_elb_service_account" "current" {}

locals {
  create_cert     = var.certificate_arn == null
  certificate_arn = local.create_cert ? aws_acm_certificate_validation.this[0].certificate_arn : var.certificate_arn
  log_prefix      = "alb"
  # Bucket names are global: AWS appends a unique suffix to this prefix.
  log_bucket_prefix = "${var.name}-alb-logs-"
  # Keys fixed in the configuration (for_each must know them at plan).
  target_group_prefixes = { primary = "hb-tg-", alternate = "hb-ta-" }
  test_traffic_header   = "X-Hello-Test-Traffic"
}

moved {
  from = aws_lb_target_group.this
  to   = aws_lb_target_group.this["primary"]
}

# ---------------------------------------------------------------- access logs

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_145:ALB access log delivery only supports SSE-S3, not SSE-KMS.
  #checkov:skip=CKV_AWS_144:Access logs are regenerable diagnostics; cross-region replication would double cost for no recovery value.
  #checkov:skip=CKV_AWS_18:This is the log bucket; logging it into itself would recurse.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events for access logs; they are read ad hoc with Athena.
  bucket_prefix = local.log_bucket_prefix
  force_destroy = var.force_destroy_log_bucket
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "logs" {
  # Older regions deliver from the regional ELB account, newer ones from the
  # log delivery service principal; allowing both keeps the module
  # region-agnostic.
  statement {
    sid       = "AlbLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/${local.log_prefix}/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}

# -------------------------------------------------------------- load balancer

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Public HTTPS (and HTTP for the redirect) into the load balancer"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name}-alb" }
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from anywhere"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "http" {
  #checkov:skip=CKV_AWS_260:Port 80 only answers with a redirect to HTTPS; it never forwards to the service.
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from anywhere, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_150:Deletion protection is the deletion_protection input: on in prod, off in staging so it can be torn down.
  #checkov:skip=CKV2_AWS_76:Log4j is covered by KnownBadInputsRuleSet; the check also demands AnonymousIpList, whose hosting-provider rule would block smoke tests from GitHub runners.
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  desync_mitigation_mode     = "strictest"
  # Shorter than the targets' keep-alive (HELLO_KEEP_ALIVE_SECONDS, 60 s), as AWS advises: the
  # ALB then closes idle target connections first and never reuses one the target is closing.
  idle_timeout = 50

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = local.log_prefix
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

# Two target groups: ECS's canary deployment registers the new revision's tasks
# in the one not serving production, shifts the listener rules' weights to it,
# and leaves it as the production one; the next deployment goes the other way.
# Which group serves production therefore changes with every deployment, so the
# keys say nothing about it.
resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; the hop to the task stays inside private subnets and the app speaks plain HTTP.
  for_each = local.target_group_prefixes

  # A prefix, not a fixed name: a change that replaces the target group (port,
  # protocol, target type) creates the new one before destroying the old, and
  # two target groups cannot share a name. The 6-character limit of name_prefix
  # is why it is not var.name.
  name_prefix = each.value
  vpc_id      = var.vpc_id
  target_type = "ip"
  protocol    = "HTTP"
  port        = var.target_port
  # ECS deregisters a task's target first and sends SIGTERM only once the
  # target is unused (no in-flight requests) or this delay has run out; the
  # app's own drain and shutdown timeout come after it. So the delay bounds how
  # long an in-flight request may take to finish on a target that no longer
  # receives new ones, and the longest request the app allows
  # (HELLO_SHUTDOWN_TIMEOUT) fits in it.
  deregistration_delay = var.deregistration_delay

  health_check {
    path                = var.health_check_path
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }

  tags = { Name = "${var.name}-${each.key}" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = local.certificate_arn

  # Every request matches one of the rules below; this answers only what
  # matches neither, which no request does.
  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/problem+json"
      message_body = jsonencode({ type = "about:blank", title = "Not Found", status = 404 })
      status_code  = "404"
    }
  }
}

# The production rule: all traffic, split between the two target groups by
# weight. ECS owns the weights (the canary shifts them), so Terraform sets them
# once and then ignores them; applying them again would undo a deployment.
resource "aws_lb_listener_rule" "production" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 100

  action {
    type = "forward"

    forward {
      target_group {
        arn    = aws_lb_target_group.this["primary"].arn
        weight = 100
      }
      target_group {
        arn    = aws_lb_target_group.this["alternate"].arn
        weight = 0
      }
    }
  }

  condition {
    path_pattern {
      values = ["/*"]
    }
  }

  lifecycle {
    ignore_changes = [action]
  }
}

# The test rule: only requests carrying the test key, which only the smoke hook
# knows, and during a deployment only the new revision (ECS points it at the
# new target group before the production rule moves). Evaluated first.
resource "aws_lb_listener_rule" "test" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type = "forward"

    forward {
      target_group {
        arn    = aws_lb_target_group.this["primary"].arn
        weight = 100
      }
      target_group {
        arn    = aws_lb_target_group.this["alternate"].arn
        weight = 0
      }
    }
  }

  condition {
    http_header {
      http_header_name = local.test_traffic_header
      values           = [terraform_data.test_traffic_key.output]
    }
  }

  lifecycle {
    ignore_changes = [action]
  }
}

# The test key: random once, then kept (uuid() changes on every plan, so the
# input is ignored after creation). terraform_data needs no provider; the key
# lives in the encrypted state and in the smoke hook's KMS-encrypted
# environment.
resource "terraform_data" "test_traffic_key" {
  input = uuid()

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}

# ------------------------------------------------------------ certificate/DNS

resource "aws_acm_certificate" "this" {
  count = local.create_cert ? 1 : 0

  domain_name       = var.domain_name
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = local.create_cert ? {
    for o in aws_acm_certificate.this[0].domain_validation_options : o.domain_name => o
  } : {}

  zone_id         = var.route53_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count = local.create_cert ? 1 : 0

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

resource "aws_route53_record" "alias" {
  count = var.route53_zone_id == null ? 0 : 1

  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}

# ------------------------------------------------------------------------ WAF

resource "aws_wafv2_web_acl" "this" {
  name  = var.name
  scope = "REGIONAL"

  default_action {
    allow {}
  }

  # Rate limiting first so a flood is cut before the managed rules are billed
  # for inspecting it.
  rule {
    name     = "rate-limit-per-ip"
    priority = 0

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit                 = var.waf_rate_limit
        aggregate_key_type    = "IP"
        evaluation_window_sec = 300
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  # Known botnets and scanners.
  rule {
    name     = "AWSManagedRulesAmazonIpReputationList"
    priority = 1

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-AWSManagedRulesAmazonIpReputationList"
      sampled_requests_enabled   = true
    }
  }

  # OWASP-style generic protections (its 8 KB body limit is above the app's 4 KiB).
  rule {
    name     = "AWSManagedRulesCommonRuleSet"
    priority = 2

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-AWSManagedRulesCommonRuleSet"
      sampled_requests_enabled   = true
    }
  }

  # Exploit payloads such as Log4Shell.
  rule {
    name     = "AWSManagedRulesKnownBadInputsRuleSet"
    priority = 3

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-AWSManagedRulesKnownBadInputsRuleSet"
      sampled_requests_enabled   = true
    }
  }

  # /metrics is for the collector inside each task (it scrapes loopback), not
  # for the internet: it names routes, storage health and load. The WAF sees
  # the path decoded and normalised the way the service routes it, which an
  # ALB path condition does not (/%6detrics, //metrics, /x/../metrics). WAF
  # custom responses can only be text, HTML or JSON, so the problem document
  # goes out as application/json.
  rule {
    name     = "metrics-not-public"
    priority = 4

    action {
      block {
        custom_response {
          response_code            = 404
          custom_response_body_key = "not-found"
        }
      }
    }

    statement {
      or_statement {
        statement {
          byte_match_statement {
            search_string         = "/metrics"
            positional_constraint = "EXACTLY"

            field_to_match {
              uri_path {}
            }

            text_transformation {
              priority = 0
              type     = "URL_DECODE"
            }

            text_transformation {
              priority = 1
              type     = "NORMALIZE_PATH"
            }
          }
        }

        statement {
          byte_match_statement {
            search_string         = "/metrics/"
            positional_constraint = "STARTS_WITH"

            field_to_match {
              uri_path {}
            }

            text_transformation {
              priority = 0
              type     = "URL_DECODE"
            }

            text_transformation {
              priority = 1
              type     = "NORMALIZE_PATH"
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-metrics-not-public"
      sampled_requests_enabled   = true
    }
  }

  # The same document the service answers for a path it has no route for.
  custom_response_body {
    key          = "not-found"
    content_type = "APPLICATION_JSON"
    content = jsonencode({
      type   = "about:blank"
      title  = "Not Found"
      status = 404
      detail = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."
    })
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this.arn
}

resource "aws_cloudwatch_log_group" "waf" {
  # WAF only logs to groups whose name starts with aws-waf-logs-.
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.waf_log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]
}
