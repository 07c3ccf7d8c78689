locals {
  port           = var.engine == "postgres" ? 5432 : 3306
  log_exports    = var.engine == "postgres" ? ["postgresql", "upgrade"] : ["audit", "error", "general", "slowquery"]
  engine_version = var.engine == "postgres" ? "16" : "8.0"
  tags           = merge(var.tags, { managed_by = "paved" })
}

resource "aws_db_subnet_group" "database" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = local.tags
}

resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "Database ${var.name}: the service's pods only"
  vpc_id      = var.vpc_id
  tags        = local.tags

  ingress {
    description     = "Database port from the service"
    from_port       = local.port
    to_port         = local.port
    protocol        = "tcp"
    security_groups = var.client_security_group_ids
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# Encryption in transit is required: clients without TLS are refused.
resource "aws_db_parameter_group" "postgres" {
  count  = var.engine == "postgres" ? 1 : 0
  name   = var.name
  family = "postgres16"
  tags   = local.tags

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }
}

resource "aws_db_parameter_group" "mysql" {
  count  = var.engine == "mysql" ? 1 : 0
  name   = var.name
  family = "mysql8.0"
  tags   = local.tags

  parameter {
    name  = "require_secure_transport"
    value = "1"
  }
}

resource "aws_db_instance" "database" {
  identifier                            = var.name
  engine                                = var.engine
  engine_version                        = local.engine_version
  instance_class                        = var.instance_class
  allocated_storage                     = var.allocated_storage
  storage_type                          = "gp3"
  storage_encrypted                     = true
  kms_key_id                            = var.kms_key_arn
  db_subnet_group_name                  = aws_db_subnet_group.database.name
  vpc_security_group_ids                = [aws_security_group.database.id]
  parameter_group_name                  = var.engine == "postgres" ? aws_db_parameter_group.postgres[0].name : aws_db_parameter_group.mysql[0].name
  publicly_accessible                   = false
  multi_az                              = var.multi_az
  username                              = "paved"
  manage_master_user_password           = true
  master_user_secret_kms_key_id         = var.kms_key_arn
  iam_database_authentication_enabled   = true
  backup_retention_period               = var.backup_retention_days
  copy_tags_to_snapshot                 = true
  deletion_protection                   = true
  skip_final_snapshot                   = false
  final_snapshot_identifier             = "${var.name}-final"
  auto_minor_version_upgrade            = true
  enabled_cloudwatch_logs_exports       = local.log_exports
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
  tags                                  = local.tags
}

# Where the service finds its database: read by the service's ExternalSecret. The password itself stays in
# the RDS-managed master secret (rotated by RDS); this secret names it.
resource "aws_secretsmanager_secret" "connection" {
  # checkov:skip=CKV2_AWS_57:Holds the connection address and the master secret's ARN, not a credential; RDS rotates the password in its own managed secret.
  name        = var.connection_secret_name
  description = "Connection of database ${var.name}"
  kms_key_id  = var.kms_key_arn
  tags        = local.tags
}

resource "aws_secretsmanager_secret_version" "connection" {
  secret_id = aws_secretsmanager_secret.connection.id
  secret_string = jsonencode({
    engine                 = var.engine
    host                   = aws_db_instance.database.address
    port                   = tostring(aws_db_instance.database.port)
    username               = aws_db_instance.database.username
    master_user_secret_arn = aws_db_instance.database.master_user_secret[0].secret_arn
  })
}
