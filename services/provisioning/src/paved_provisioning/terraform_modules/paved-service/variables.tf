variable "name" {
  description = "Name of the service (DNS-1123 label)."
  type        = string
}

variable "environment" {
  description = "Environment the service runs in, e.g. development, staging, production."
  type        = string
}

variable "instance_type" {
  description = "Instance type of the nodes the service's pods are scheduled on."
  type        = string
}

variable "min_instances" {
  description = "Replicas always running."
  type        = number
}

variable "max_instances" {
  description = "Upper bound for the autoscaler."
  type        = number
}

variable "vpc_id" {
  description = "VPC the service's network identity lives in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the service (and of its data stores)."
  type        = list(string)
}

variable "enable_monitoring" {
  description = "Metrics are scraped (the ServiceMonitor of the service's manifests); recorded as a tag."
  type        = bool
  default     = true
}

variable "enable_tracing" {
  description = "The service exports OpenTelemetry traces (OTEL_* environment of its pods); recorded as a tag."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Days the service's logs are kept."
  type        = number
  default     = 30
}

variable "enable_encryption" {
  description = "A customer-managed KMS key (with rotation) encrypts the service's logs and data stores."
  type        = bool
  default     = true
}

variable "enable_waf" {
  description = "A WAFv2 web ACL with AWS managed rules guards the service's public endpoint."
  type        = bool
  default     = false
}

variable "cost_center" {
  description = "Cost center the service's spend is charged to."
  type        = string
}

variable "owner_team" {
  description = "Team that owns the service."
  type        = string
}

variable "tags" {
  description = "Extra tags for every resource (owner and cost_center are always set)."
  type        = map(string)
  default     = {}
}
