"""Initial schema of the catalog: its tables as the models declared them when migrations began.

Revision ID: 0001
Revises: none
Create Date: 2026-11-26 06:25:20.530470
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_builtin_seeds",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("seed_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "catalog_service_facts",
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column(
            "facts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", "source"),
    )
    op.create_table(
        "catalog_services",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("team", sa.String(length=63), nullable=False),
        sa.Column("template", sa.String(length=63), nullable=False),
        sa.Column("template_revision", sa.Integer(), nullable=False),
        sa.Column("environment", sa.String(length=63), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "endpoints",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "dashboards",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("documentation_url", sa.Text(), nullable=False),
        sa.Column("plan", sa.LargeBinary(), nullable=True),
        sa.Column(
            "plan_summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("database_engine", sa.String(length=32), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column(
            "annotations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("request_id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index(
        "ix_catalog_services_environment_name", "catalog_services", ["environment", "name"], unique=False
    )
    op.create_index("ix_catalog_services_state_name", "catalog_services", ["state", "name"], unique=False)
    op.create_index("ix_catalog_services_team_name", "catalog_services", ["team", "name"], unique=False)
    op.create_index(
        "ix_catalog_services_template_name", "catalog_services", ["template", "name"], unique=False
    )
    op.create_table(
        "catalog_templates",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("request_id"),
    )


def downgrade() -> None:
    op.drop_table("catalog_templates")
    op.drop_index("ix_catalog_services_template_name", table_name="catalog_services")
    op.drop_index("ix_catalog_services_team_name", table_name="catalog_services")
    op.drop_index("ix_catalog_services_state_name", table_name="catalog_services")
    op.drop_index("ix_catalog_services_environment_name", table_name="catalog_services")
    op.drop_table("catalog_services")
    op.drop_table("catalog_service_facts")
    op.drop_table("catalog_builtin_seeds")
