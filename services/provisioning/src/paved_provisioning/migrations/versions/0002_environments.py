"""A provisioned service has one row per environment: the primary key becomes (name, environment).

The table is rebuilt (portable across SQLite and PostgreSQL) and every row copied as it is: each service
keeps its one environment, its plan, image, version, usage and state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "name, team, environment, state, instances, monthly_cost, plan, image, version, operation_id, "
    "create_time, update_time"
)


def _create(name: str, key: list[str]) -> None:
    op.create_table(
        name,
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("instances", sa.Integer(), nullable=False),
        sa.Column("monthly_cost", sa.Float(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("image", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("operation_id", sa.String(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(*key, name=f"{name}_pkey"),
    )


def _rebuild(key: list[str], *, keep: str = "") -> None:
    _create("provisioned_services_rebuilt", key)
    op.execute(
        f"INSERT INTO provisioned_services_rebuilt ({_COLUMNS}) "
        f"SELECT {_COLUMNS} FROM provisioned_services {keep}"
    )
    op.drop_index("ix_provisioned_services_team", table_name="provisioned_services")
    op.drop_table("provisioned_services")
    op.rename_table("provisioned_services_rebuilt", "provisioned_services")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE provisioned_services RENAME CONSTRAINT provisioned_services_rebuilt_pkey "
            "TO provisioned_services_pkey"
        )
    op.create_index("ix_provisioned_services_team", "provisioned_services", ["team"], unique=False)


def upgrade() -> None:
    _rebuild(["name", "environment"])


def downgrade() -> None:
    # One row per service again: the environment each was first provisioned in.
    _rebuild(
        ["name"],
        keep="AS p WHERE NOT EXISTS (SELECT 1 FROM provisioned_services AS q WHERE q.name = p.name AND "
        "(q.create_time < p.create_time OR "
        "(q.create_time = p.create_time AND q.environment < p.environment)))",
    )
