variable "name" {
  description = "Identifier of the database instance, e.g. <service>-<environment>."
  type        = string
}

variable "environment" {
  description = "Environment the database serves."
  type        = string
}

variable "engine" {
  description = "postgres or mysql."
  type        = string
  validation {
    condition     = contains(["postgres", "mysql"], var.engine)
    error_message = "engine must be postgres or mysql."
  }
}

variable "instance_class" {
  description = "RDS instance class, e.g. db.t3.medium."
  type        = string
}

variable "allocated_storage" {
  description = "Allocated storage in GiB."
  type        = number
  default     = 20
}

variable "multi_az" {
  description = "A standby in a second availability zone."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days automated backups are kept (1-35)."
  type        = number
  default     = 7
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the database (two availability zones at least)."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups admitted to the database port (the service's)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Customer-managed key encrypting storage, Performance Insights and the master secret."
  type        = string
}

variable "tags" {
  description = "Tags of every resource (owner, cost_center, environment, service)."
  type        = map(string)
}

variable "connection_secret_name" {
  description = "Secrets Manager secret the connection (host, port, engine, username, master secret ARN) is written to."
  type        = string
}
