"""Template pins: a service environment may be held at a template revision, with who, why and until when;
fleet upgrades skip it while the pin holds. Existing environments start unpinned (revision 0).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_service_environments") as batch:
        batch.add_column(sa.Column("pin_revision", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("pin_reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("pin_expire_time", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("pinned_by", sa.String(length=255), nullable=False, server_default=""))
        batch.add_column(sa.Column("pin_create_time", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_service_environments") as batch:
        for column in ("pin_create_time", "pinned_by", "pin_expire_time", "pin_reason", "pin_revision"):
            batch.drop_column(column)
