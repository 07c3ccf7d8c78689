output "endpoint" {
  description = "host:port of the database."
  value       = aws_db_instance.database.endpoint
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the master credentials (the service's ExternalSecret reads it)."
  value       = aws_db_instance.database.master_user_secret[0].secret_arn
}
