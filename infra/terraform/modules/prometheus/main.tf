data "aws_region" "current" {}

locals {
  region = data.aws_region.current.region

  # The alert manager of the workspace: every alert goes to the stack's SNS
  # topic, the one the CloudWatch alarms notify, so on-call reads one stream.
  # AMP forbids api_url and http_config and needs the region in sigv4.
  alertmanager_config = {
    route = {
      receiver        = "sns"
      group_by        = ["alertname", "severity"]
      group_wait      = "30s"
      group_interval  = "5m"
      repeat_interval = "4h"
    }
    receivers = [
      {
        name = "sns"
        sns_configs = [
          {
            topic_arn = var.sns_topic_arn
            sigv4     = { region = local.region }
            # SNS subjects are at most 100 ASCII characters on one line; the
            # default subject lists every label and can be longer.
            subject = "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})"
            message = "{{ template \"hello.sns.message\" . }}"
            attributes = {
              severity = "{{ .CommonLabels.severity }}"
            }
          },
        ]
      },
    ]
  }

  # The message names each alert, its summary and the runbook section to open.
  message_template = <<-EOT
    {{ define "hello.sns.message" }}{{ .Status | toUpper }}: {{ .CommonLabels.alertname }}
    {{ range .Alerts }}
    - {{ .Annotations.summary }}
      runbook: {{ .Annotations.runbook }}
      since: {{ .StartsAt }}
    {{ end }}{{ end }}
  EOT
}

resource "aws_cloudwatch_log_group" "this" {
  # The KMS key admits CloudWatch Logs only for log groups whose name contains
  # the stack name.
  name              = "/aws/prometheus/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_prometheus_workspace" "this" {
  alias       = var.name
  kms_key_arn = var.kms_key_arn

  # Rule evaluation and alert manager errors (a rule that fails, an SNS
  # publish that is refused) are only visible here.
  logging_configuration {
    log_group_arn = "${aws_cloudwatch_log_group.this.arn}:*"
  }
}

# The very file promtool unit-tests and the rehearsal evaluates: one rules
# file, no copy to drift.
resource "aws_prometheus_rule_group_namespace" "this" {
  name         = var.name
  workspace_id = aws_prometheus_workspace.this.id
  data         = file("${path.module}/../../../../deploy/prometheus/rules.yml")
}

resource "aws_prometheus_alert_manager_definition" "this" {
  workspace_id = aws_prometheus_workspace.this.id
  definition = yamlencode({
    alertmanager_config = yamlencode(local.alertmanager_config)
    template_files = {
      default_template = local.message_template
    }
  })
}
