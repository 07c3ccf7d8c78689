"""Anomaly rules: a kind per alert rule (threshold or anomaly) and an anomaly rule's sensitivity.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_rules") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="threshold"))
        batch.add_column(sa.Column("sensitivity", sa.String(length=16), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("alert_rules") as batch:
        batch.drop_column("sensitivity")
        batch.drop_column("kind")
