locals {
  tags = merge(var.tags, {
    owner       = var.owner_team
    cost_center = var.cost_center
    environment = var.environment
    service     = var.name
    managed_by  = "paved"
    monitoring  = var.enable_monitoring ? "enabled" : "disabled"
    tracing     = var.enable_tracing ? "enabled" : "disabled"
  })
  log_group_name = "/paved/${var.environment}/${var.name}"
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself; the account root administers it as AWS's default key policy does.
  # checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself; CloudWatch Logs is limited to this service's log groups by condition.
  # checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself (key policies cannot name other resources).
  # The account administers the key; CloudWatch Logs may use it for this service's log groups only.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogsUse"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:aws:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*${var.name}*"]
    }
  }
}

resource "aws_kms_key" "service" {
  count                   = var.enable_encryption ? 1 : 0
  description             = "Paved service ${var.name} (${var.environment})"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = local.tags
}

resource "aws_kms_alias" "service" {
  count         = var.enable_encryption ? 1 : 0
  name          = "alias/paved/${var.environment}/${var.name}"
  target_key_id = aws_kms_key.service[0].key_id
}

resource "aws_cloudwatch_log_group" "service" {
  # checkov:skip=CKV_AWS_338:Retention is the template's log_retention_days per environment (14 days, 90 in production); a year of every service's logs is a cost the owner opts into.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.enable_encryption ? aws_kms_key.service[0].arn : null
  tags              = local.tags
}

# The service's identity in the VPC: its data stores admit traffic from this group only. Pods wear it
# through the cluster's security-groups-for-pods policy.
resource "aws_security_group" "service" {
  # checkov:skip=CKV2_AWS_5:Pods wear this group through the cluster's SecurityGroupPolicy (outside Terraform); the data stores' groups admit it.
  name        = "paved-${var.environment}-${var.name}"
  description = "Pods of Paved service ${var.name} (${var.environment})"
  vpc_id      = var.vpc_id
  tags        = local.tags

  egress {
    description = "HTTPS to AWS APIs and dependencies"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_wafv2_web_acl" "service" {
  count       = var.enable_waf ? 1 : 0
  name        = "paved-${var.environment}-${var.name}"
  description = "Public endpoint of Paved service ${var.name}"
  scope       = "REGIONAL"
  tags        = local.tags

  default_action {
    allow {}
  }

  rule {
    name     = "aws-common"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesCommonRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "paved-${var.name}-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
        vendor_name = "AWS"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "paved-${var.name}-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "paved-${var.name}"
    sampled_requests_enabled   = true
  }
}

resource "aws_cloudwatch_log_group" "waf" {
  # checkov:skip=CKV_AWS_338:WAF logs follow the service's log_retention_days.
  count             = var.enable_waf ? 1 : 0
  name              = "aws-waf-logs-paved-${var.environment}-${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.enable_encryption ? aws_kms_key.service[0].arn : null
  tags              = local.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "service" {
  count                   = var.enable_waf ? 1 : 0
  log_destination_configs = [aws_cloudwatch_log_group.waf[0].arn]
  resource_arn            = aws_wafv2_web_acl.service[0].arn
}
