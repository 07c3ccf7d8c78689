output "table_name" {
  description = "Name of the table."
  value       = aws_dynamodb_table.table.name
}

output "table_arn" {
  description = "ARN of the table (for the service's IAM policy)."
  value       = aws_dynamodb_table.table.arn
}
