"""FOCUS 1.3 contract commitments: the Contract Commitment dataset, and ContractApplied on billing rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 02:10:00
"""

from collections.abc import Sequence

import paved_cost.models
import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cost_billing_row") as batch:
        batch.add_column(sa.Column("contract_applied", sa.String(), nullable=True))
    op.create_table(
        "cost_contract_commitment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("contract_commitment_id", sa.String(), nullable=False),
        sa.Column("contract_id", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("commitment_type", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("cost", paved_cost.models.ExactDecimal(), nullable=True),
        sa.Column("quantity", paved_cost.models.ExactDecimal(), nullable=True),
        sa.Column("unit", sa.String(), nullable=True),
        sa.Column("billing_currency", sa.String(), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contract_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contract_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "contract_commitment_id", name="uq_cost_contract_commitment"),
    )


def downgrade() -> None:
    op.drop_table("cost_contract_commitment")
    with op.batch_alter_table("cost_billing_row") as batch:
        batch.drop_column("contract_applied")
