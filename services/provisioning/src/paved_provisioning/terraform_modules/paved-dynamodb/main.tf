resource "aws_dynamodb_table" "table" {
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.hash_key
  deletion_protection_enabled = true
  tags                        = merge(var.tags, { managed_by = "paved" })

  attribute {
    name = var.hash_key
    type = "S"
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  # Continuous backups: restore to any second of the last 35 days.
  point_in_time_recovery {
    enabled = true
  }
}
