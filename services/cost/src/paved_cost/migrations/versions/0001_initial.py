"""Initial schema of the cost: its tables as the models declared them when migrations began.

Revision ID: 0001
Revises: none
Create Date: 2026-11-26 06:25:25.912384

Money columns use the models' ExactDecimal (NUMERIC on PostgreSQL, text on SQLite): if that type is ever
renamed or changed, copy today's definition here so this script keeps building the same columns.
"""

from collections.abc import Sequence

import paved_cost.models
import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cost_billing_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("billing_period", sa.String(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "billing_period"),
    )
    op.create_table(
        "cost_billing_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("billing_period", sa.String(), nullable=False),
        sa.Column("charge_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charge_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("billing_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("billing_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charge_category", sa.String(), nullable=False),
        sa.Column("pricing_category", sa.String(), nullable=True),
        sa.Column("provider_name", sa.String(), nullable=True),
        sa.Column("service_name", sa.String(), nullable=True),
        sa.Column("service_category", sa.String(), nullable=True),
        sa.Column("region_id", sa.String(), nullable=True),
        sa.Column("sub_account_id", sa.String(), nullable=True),
        sa.Column("resource_id", sa.String(), nullable=True),
        sa.Column("resource_type", sa.String(), nullable=True),
        sa.Column("sku_id", sa.String(), nullable=True),
        sa.Column("billing_currency", sa.String(), nullable=False),
        sa.Column("billed_cost", paved_cost.models.ExactDecimal(), nullable=False),
        sa.Column("effective_cost", paved_cost.models.ExactDecimal(), nullable=False),
        sa.Column("list_cost", paved_cost.models.ExactDecimal(), nullable=True),
        sa.Column("contracted_cost", paved_cost.models.ExactDecimal(), nullable=True),
        sa.Column("consumed_quantity", paved_cost.models.ExactDecimal(), nullable=True),
        sa.Column("consumed_unit", sa.String(), nullable=True),
        sa.Column("commitment_discount_id", sa.String(), nullable=True),
        sa.Column("commitment_discount_type", sa.String(), nullable=True),
        sa.Column("tags", sa.String(), nullable=True),
        sa.Column("service", sa.String(), nullable=True),
        sa.Column("team", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_cost_billing_row_import", "cost_billing_row", ["source", "billing_period"], unique=False
    )
    op.create_table(
        "cost_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("billing_period", sa.String(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("service", sa.String(), nullable=True),
        sa.Column("team", sa.String(), nullable=True),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("effective_cost", paved_cost.models.ExactDecimal(), nullable=False),
        sa.Column("billed_cost", paved_cost.models.ExactDecimal(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cost_daily_day", "cost_daily", ["day"], unique=False)
    op.create_index("ix_cost_daily_import", "cost_daily", ["source", "billing_period"], unique=False)
    op.create_index("ix_cost_daily_service_day", "cost_daily", ["service", "day"], unique=False)
    op.create_table(
        "cost_optimization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recommendation", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("from_instance_type", sa.String(), nullable=False),
        sa.Column("to_instance_type", sa.String(), nullable=False),
        sa.Column("monthly_savings", paved_cost.models.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("operation", sa.String(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "cost_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("properties", sa.String(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("service", "resource"),
    )
    op.create_index(op.f("ix_cost_resource_service"), "cost_resource", ["service"], unique=False)
    op.create_table(
        "cost_service",
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("estimated_monthly_cost", paved_cost.models.ExactDecimal(), nullable=True),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service"),
    )
    op.create_table(
        "cost_utilization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("resource", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_cost_utilization_resource_time", "cost_utilization", ["service", "resource", "time"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_cost_utilization_resource_time", table_name="cost_utilization")
    op.drop_table("cost_utilization")
    op.drop_table("cost_service")
    op.drop_index(op.f("ix_cost_resource_service"), table_name="cost_resource")
    op.drop_table("cost_resource")
    op.drop_table("cost_optimization")
    op.drop_index("ix_cost_daily_service_day", table_name="cost_daily")
    op.drop_index("ix_cost_daily_import", table_name="cost_daily")
    op.drop_index("ix_cost_daily_day", table_name="cost_daily")
    op.drop_table("cost_daily")
    op.drop_index("ix_cost_billing_row_import", table_name="cost_billing_row")
    op.drop_table("cost_billing_row")
    op.drop_table("cost_billing_import")
