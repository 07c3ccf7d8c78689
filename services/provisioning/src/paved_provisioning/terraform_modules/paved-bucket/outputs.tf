output "bucket" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.bucket.id
}

output "bucket_arn" {
  description = "ARN of the bucket (for the service's IAM policy)."
  value       = aws_s3_bucket.bucket.arn
}
