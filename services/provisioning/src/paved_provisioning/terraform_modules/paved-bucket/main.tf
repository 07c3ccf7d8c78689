resource "aws_s3_bucket" "bucket" {
  # checkov:skip=CKV_AWS_18:Server access logs need a log bucket the account owns; a service's module does not create one per service.
  # checkov:skip=CKV_AWS_144:Versioning with 30 days of old versions is the bucket's backup; cross-region replication doubles the cost and is a per-service choice.
  # checkov:skip=CKV2_AWS_62:Nothing consumes the bucket's events; a notification without a consumer is a dangling integration.
  bucket = var.name
  tags   = merge(var.tags, { managed_by = "paved" })
}

resource "aws_s3_bucket_public_access_block" "bucket" {
  bucket                  = aws_s3_bucket.bucket.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "bucket" {
  bucket = aws_s3_bucket.bucket.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "bucket" {
  bucket = aws_s3_bucket.bucket.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

# Versions are the bucket's backups: an overwritten or deleted object can be restored.
resource "aws_s3_bucket_versioning" "bucket" {
  bucket = aws_s3_bucket.bucket.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "bucket" {
  bucket = aws_s3_bucket.bucket.id
  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}
