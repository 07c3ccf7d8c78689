output "security_group_id" {
  description = "Security group of the service's pods; data stores admit it."
  value       = aws_security_group.service.id
}

output "kms_key_arn" {
  description = "Customer-managed key of the service (null without encryption)."
  value       = var.enable_encryption ? aws_kms_key.service[0].arn : null
}

output "log_group_name" {
  description = "CloudWatch log group of the service."
  value       = aws_cloudwatch_log_group.service.name
}

output "web_acl_arn" {
  description = "WAF web ACL to attach to the service's load balancer (null without WAF)."
  value       = var.enable_waf ? aws_wafv2_web_acl.service[0].arn : null
}

output "capacity" {
  description = "Node sizing the service asks for: instance type and replica bounds."
  value = {
    instance_type = var.instance_type
    min_instances = var.min_instances
    max_instances = var.max_instances
    subnet_ids    = var.subnet_ids
  }
}
