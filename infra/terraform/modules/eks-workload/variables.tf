variable "name" {
  description = "Name of the workload; prefixes the IAM role and, when one is created, the KMS key alias."
  type        = string
}

variable "cluster" {
  description = "Where the chart runs: the EKS cluster (with the Pod Identity agent add-on), and the namespace and service account of the release (the chart's serviceAccount.name, by default <release>-hello-birthday)."
  type = object({
    name            = string
    namespace       = string
    service_account = string
  })
}

variable "table" {
  description = "The service's DynamoDB table: its name (the chart's config.dynamodbTable), the KMS key to encrypt it with (null: a key of its own through the kms module) and deletion protection."
  type = object({
    name                = string
    kms_key_arn         = optional(string)
    deletion_protection = optional(bool, true)
  })
}
