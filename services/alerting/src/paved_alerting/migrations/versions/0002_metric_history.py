"""Metric history: series with their newest sample time, and 5-minute / 1-hour roll-ups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_series",
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("environment", sa.String(length=63), nullable=False),
        sa.Column("metric", sa.String(length=63), nullable=False),
        sa.Column("newest_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("service", "environment", "metric"),
    )
    op.create_table(
        "metric_rollups",
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("environment", sa.String(length=63), nullable=False),
        sa.Column("metric", sa.String(length=63), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=False),
        sa.Column("sketch", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("service", "environment", "metric", "resolution", "bucket_start"),
    )


def downgrade() -> None:
    op.drop_table("metric_rollups")
    op.drop_table("metric_series")
