variable "name" {
  description = "Table name, e.g. <service>-<environment>."
  type        = string
}

variable "hash_key" {
  description = "Partition key attribute (a string)."
  type        = string
  default     = "id"
}

variable "kms_key_arn" {
  description = "Customer-managed key encrypting the table."
  type        = string
}

variable "tags" {
  description = "Tags of the table (owner, cost_center, environment, service)."
  type        = map(string)
}
