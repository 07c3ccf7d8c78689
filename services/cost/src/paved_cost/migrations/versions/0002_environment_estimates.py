"""A registered service's monthly estimate per environment; each registration made before is its
environment's estimate.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 01:10:00.000000

Money columns use the models' ExactDecimal (NUMERIC on PostgreSQL, text on SQLite), as 0001 does.
"""

from collections.abc import Sequence

import paved_cost.models
import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cost_environment",
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("estimated_monthly_cost", paved_cost.models.ExactDecimal(), nullable=True),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", "environment"),
    )
    op.execute(
        "INSERT INTO cost_environment (service, environment, team, estimated_monthly_cost, currency, "
        "registered_at) SELECT service, environment, team, estimated_monthly_cost, currency, registered_at "
        "FROM cost_service"
    )


def downgrade() -> None:
    op.drop_table("cost_environment")
