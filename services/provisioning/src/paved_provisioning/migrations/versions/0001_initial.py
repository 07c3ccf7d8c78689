"""Initial schema of the provisioning: its tables as the models declared them when migrations began.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 06:25:28.748560
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("image", sa.String(), nullable=False),
        sa.Column("commit", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("requester", sa.String(), nullable=False),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("operation_id", sa.String(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_deployments_seq"), "deployments", ["seq"], unique=False)
    op.create_index("ix_deployments_service_env", "deployments", ["service", "environment"], unique=False)
    op.create_table(
        "operations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("requester", sa.String(), nullable=False),
        sa.Column("request_key", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=False),
        sa.Column("error_message", sa.String(), nullable=False),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_key", name="uq_operations_request_key"),
    )
    op.create_index("ix_operations_claim", "operations", ["done", "lease_expires_at"], unique=False)
    op.create_index(op.f("ix_operations_service"), "operations", ["service"], unique=False)
    op.create_table(
        "provisioned_services",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("instances", sa.Integer(), nullable=False),
        sa.Column("monthly_cost", sa.Float(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("image", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("operation_id", sa.String(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index(op.f("ix_provisioned_services_team"), "provisioned_services", ["team"], unique=False)
    op.create_table(
        "team_quotas",
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("max_services", sa.Integer(), nullable=True),
        sa.Column("max_instances", sa.Integer(), nullable=True),
        sa.Column("max_monthly_cost", sa.Float(), nullable=True),
        sa.Column("overridden", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("team"),
    )
    op.create_table(
        "operation_steps",
        sa.Column("operation_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
        ),
        sa.PrimaryKeyConstraint("operation_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("operation_steps")
    op.drop_table("team_quotas")
    op.drop_index(op.f("ix_provisioned_services_team"), table_name="provisioned_services")
    op.drop_table("provisioned_services")
    op.drop_index(op.f("ix_operations_service"), table_name="operations")
    op.drop_index("ix_operations_claim", table_name="operations")
    op.drop_table("operations")
    op.drop_index("ix_deployments_service_env", table_name="deployments")
    op.drop_index(op.f("ix_deployments_seq"), table_name="deployments")
    op.drop_table("deployments")
