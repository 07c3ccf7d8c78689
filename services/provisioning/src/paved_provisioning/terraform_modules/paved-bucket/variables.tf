variable "name" {
  description = "Bucket name, e.g. <service>-<environment>-<purpose>."
  type        = string
}

variable "noncurrent_version_days" {
  description = "Days an overwritten or deleted object version is kept (the bucket's backup window)."
  type        = number
  default     = 30
}

variable "kms_key_arn" {
  description = "Customer-managed key encrypting the objects."
  type        = string
}

variable "tags" {
  description = "Tags of the bucket (owner, cost_center, environment, service)."
  type        = map(string)
}
