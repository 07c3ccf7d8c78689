"""Alert rules and alerts per environment: the environment whose series a rule watches. Rules made before
services had environments watch the default one, development.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("alert_rules", "alerts")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("environment", sa.String(length=63), nullable=False, server_default="development")
            )
        op.create_index(f"ix_{table}_service_environment", table, ["service", "environment"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_service_environment", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("environment")
