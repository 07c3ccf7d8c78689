"""A registration remembers the template its service was built from (estimates are graded per template).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cost_service") as batch:
        batch.add_column(sa.Column("template", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("cost_service") as batch:
        batch.drop_column("template")
