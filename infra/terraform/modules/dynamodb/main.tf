resource "aws_dynamodb_table" "this" {
  name = var.table_name
  # Traffic is small and spiky; on-demand costs nothing when idle and needs no
  # capacity autoscaling.
  billing_mode = "PAY_PER_REQUEST"
  # The service stores the casefolded NFC username as the only key.
  hash_key                    = "username"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "username"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}
