data "aws_partition" "current" {}

locals {
  oidc_url          = "https://token.actions.githubusercontent.com"
  oidc_host         = "token.actions.githubusercontent.com"
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
  # GitHub names the repository in the subject either by name only
  # (repo:owner/name:...) or, for repositories created or renamed since July
  # 2026 and those opted in, with the immutable ids appended
  # (repo:owner@<owner id>/name@<repository id>:...). The id form survives a
  # rename and cannot be taken over by whoever registers a freed name.
  owner_and_name = split("/", var.github_repository)
  repository_subjects = concat(
    var.github_repository_ids == null || var.github_repository_ids.accept_name_only ? ["repo:${var.github_repository}"] : [],
    var.github_repository_ids == null ? [] : [
      "repo:${local.owner_and_name[0]}@${var.github_repository_ids.owner_id}/${local.owner_and_name[1]}@${var.github_repository_ids.repository_id}",
    ],
  )
  subjects = concat(
    [for pair in setproduct(local.repository_subjects, var.github_branches) : "${pair[0]}:ref:refs/heads/${pair[1]}"],
    [for pair in setproduct(local.repository_subjects, var.github_environments) : "${pair[0]}:environment:${pair[1]}"],
  )
  plan_subjects    = [for r in local.repository_subjects : "${r}:pull_request"]
  state_bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.state_bucket_name}"
  state_object_arn = "${local.state_bucket_arn}/${var.state_key}"

  # What terraform plan/apply reads to refresh every resource of the stack.
  refresh_actions = [
    "acm:DescribeCertificate",
    "acm:ListTagsForCertificate",
    "application-autoscaling:Describe*",
    "application-autoscaling:ListTagsForResource",
    "aps:DescribeAlertManagerDefinition",
    "aps:DescribeLoggingConfiguration",
    "aps:DescribeRuleGroupsNamespace",
    "aps:DescribeWorkspace",
    "aps:ListTagsForResource",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetDashboard",
    "cloudwatch:ListTagsForResource",
    "cognito-idp:DescribeUserPool",
    "cognito-idp:DescribeUserPoolClient",
    "cognito-idp:GetGroup",
    "cognito-idp:GetUserPoolMfaConfig",
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTagsOfResource",
    "ec2:Describe*",
    "ecr:DescribeImages",
    "ecr:DescribePullThroughCacheRules",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:ListTagsForResource",
    "ecs:Describe*",
    "ecs:List*",
    "elasticloadbalancing:Describe*",
    "iam:GetOpenIDConnectProvider",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListOpenIDConnectProviders",
    "iam:ListRolePolicies",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:ListVersionsByFunction",
    "logs:DescribeLogGroups",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "route53:GetChange",
    "route53:GetHostedZone",
    "route53:ListResourceRecordSets",
    "route53:ListTagsForResource",
    "s3:GetAccelerateConfiguration",
    "s3:GetBucket*",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "sns:GetSubscriptionAttributes",
    "sns:GetTopicAttributes",
    "sns:ListTagsForResource",
    "wafv2:Get*",
    "wafv2:List*",
  ]
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = local.oidc_url
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1

  url = local.oidc_url
}

# Exact subjects only: a pattern like repo:owner/name:* would also admit pull
# requests from forks and every branch.
data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = local.subjects
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = var.name
  description          = "GitHub Actions deploy of ${var.github_repository}: push the image, plan/apply an image change"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
}

# A deploy is "push image, terraform apply -var image_tag=<sha>": refresh reads
# every resource of the stack, then only the task definition and the service
# change. Any other infrastructure change fails here with AccessDenied and is
# applied by an operator.
data "aws_iam_policy_document" "deploy" {
  #checkov:skip=CKV_AWS_356:Read-only Describe/Get/List for terraform refresh and the non-resource-scoped ECR login/RegisterTaskDefinition; every write is scoped.
  #checkov:skip=CKV_AWS_111:The only unscoped writes are ecs:RegisterTaskDefinition/TagResource, which have no resource-level permissions.
  statement {
    sid       = "RefreshStack"
    actions   = local.refresh_actions
    resources = ["*"]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [var.ecr_repository_arn]
  }

  # No DeregisterTaskDefinition: the task definition has skip_destroy, so an
  # apply leaves old revisions registered (they are the rollback targets), and
  # the action cannot be scoped to one family, so it would let the pipeline
  # deregister any task definition in the account.
  statement {
    sid       = "RegisterTaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:TagResource"]
    resources = ["*"]
  }

  statement {
    sid       = "RollOutService"
    actions   = ["ecs:UpdateService"]
    resources = [var.ecs_service_arn]
  }

  # The alert rules are code too: a change to deploy/prometheus/rules.yml (or
  # to the alert manager's routing) reaches the workspace with the deploy that
  # ships it, instead of failing every deploy until an operator applies it.
  statement {
    sid       = "UpdateTheAlertRules"
    actions   = ["aps:PutRuleGroupsNamespace", "aps:PutAlertManagerDefinition"]
    resources = [var.prometheus.rule_group_namespace_arn, var.prometheus.workspace_arn]
  }

  statement {
    sid       = "HandRolesToEcsTasks"
    actions   = ["iam:PassRole"]
    resources = var.pass_role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = length(var.ecs_deployment_role_arns) > 0 ? [var.ecs_deployment_role_arns] : []

    content {
      sid       = "HandDeploymentRolesToEcs"
      actions   = ["iam:PassRole"]
      resources = statement.value
      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs.amazonaws.com"]
      }
    }
  }

  # The hook's package is built from the commit being deployed; only its code
  # may change (its configuration and role are an operator's apply).
  dynamic "statement" {
    for_each = var.smoke_hook_function_arn == null ? [] : [var.smoke_hook_function_arn]

    content {
      sid       = "ShipTheSmokeHookCode"
      actions   = ["lambda:UpdateFunctionCode"]
      resources = [statement.value]
    }
  }

  # Refreshing a bucket starts with HeadBucket, which needs s3:ListBucket.
  statement {
    sid       = "ListStateAndStackBuckets"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn, "arn:${data.aws_partition.current.partition}:s3:::${var.stack_bucket_prefix}*"]
  }

  statement {
    sid       = "ReadWriteThisState"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.state_object_arn, "${local.state_object_arn}.tflock"]
  }

  statement {
    sid       = "ReleaseStateLock"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.state_object_arn}.tflock"]
  }

  statement {
    sid       = "StateEncryption"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.state_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

# ------------------------------------------------------------------ plan role

# Pull requests get a read-only plan of what merging would change. GitHub
# issues no OIDC token to workflows of forks, so only branches of the
# repository itself can assume this role.
data "aws_iam_policy_document" "plan_trust" {
  count = var.create_plan_role ? 1 : 0

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = local.plan_subjects
    }
  }
}

resource "aws_iam_role" "plan" {
  count = var.create_plan_role ? 1 : 0

  name                 = "${var.name}-plan"
  description          = "GitHub Actions pull requests of ${var.github_repository}: read-only terraform plan"
  assume_role_policy   = data.aws_iam_policy_document.plan_trust[0].json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "plan" {
  #checkov:skip=CKV_AWS_356:Read-only Describe/Get/List for terraform refresh; nothing in this policy writes.
  statement {
    sid       = "RefreshStack"
    actions   = local.refresh_actions
    resources = ["*"]
  }

  # Refreshing a bucket starts with HeadBucket, which needs s3:ListBucket.
  statement {
    sid       = "ListStateAndStackBuckets"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn, "arn:${data.aws_partition.current.partition}:s3:::${var.stack_bucket_prefix}*"]
  }

  # plan runs with -lock=false, so no lock file is written.
  statement {
    sid       = "ReadThisState"
    actions   = ["s3:GetObject"]
    resources = [local.state_object_arn]
  }

  statement {
    sid       = "StateDecryption"
    actions   = ["kms:Decrypt"]
    resources = [var.state_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "plan" {
  count = var.create_plan_role ? 1 : 0

  name   = "plan"
  role   = aws_iam_role.plan[0].id
  policy = data.aws_iam_policy_document.plan.json
}
