data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  kms_key_arn = var.table.kms_key_arn != null ? var.table.kms_key_arn : module.kms[0].key_arn
}

# ----------------------------------------------------------------------- table

module "kms" {
  source = "../kms"
  count  = var.table.kms_key_arn == null ? 1 : 0

  name = var.name
}

module "dynamodb" {
  source = "../dynamodb"

  table_name          = var.table.name
  kms_key_arn         = local.kms_key_arn
  deletion_protection = var.table.deletion_protection
}

# ------------------------------------------------------------------------- IAM

# EKS Pod Identity assumes the role with session tags naming the cluster, namespace and service
# account of the pod; matching all three keeps every other pod of the account out.
data "aws_iam_policy_document" "assume_pod_identity" {
  statement {
    sid     = "PodIdentityForTheReleaseServiceAccount"
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/eks-cluster-name"
      values   = [var.cluster.name]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-namespace"
      values   = [var.cluster.namespace]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-service-account"
      values   = [var.cluster.service_account]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-pod"
  description        = "Pods of the hello-birthday chart: read and write their one DynamoDB table"
  assume_role_policy = data.aws_iam_policy_document.assume_pod_identity.json
}

# The same permissions as the ECS task role: GetItem/PutItem serve the API, DescribeTable
# answers /readyz. The key admits account principals through DynamoDB (the kms module).
data "aws_iam_policy_document" "table" {
  statement {
    sid       = "ReadWriteTheTable"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DescribeTable"]
    resources = [module.dynamodb.table_arn]
  }
}

resource "aws_iam_role_policy" "table" {
  name   = "dynamodb-table"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.table.json
}

resource "aws_eks_pod_identity_association" "this" {
  cluster_name    = var.cluster.name
  namespace       = var.cluster.namespace
  service_account = var.cluster.service_account
  role_arn        = aws_iam_role.this.arn
}
