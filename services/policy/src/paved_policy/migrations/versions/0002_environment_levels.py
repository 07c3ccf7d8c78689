"""Policies carry an enforcement level per environment (overriding their level there); existing
policies get none, so they enforce exactly as before.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("environment_levels", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("policies") as batch:
        batch.alter_column("environment_levels", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("environment_levels")
