"""Initial schema of the policy: its tables as the models declared them when migrations began.

Revision ID: 0001
Revises: none
Create Date: 2026-11-26 06:25:23.586881
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("inputs_digest", sa.String(), nullable=False),
        sa.Column("policy_revisions", sa.JSON(), nullable=False),
        sa.Column("override_approved_by", sa.String(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_applied", sa.Boolean(), nullable=False),
        sa.Column("requester", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("environment", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.create_index(op.f("ix_decisions_create_time"), "decisions", ["create_time"], unique=False)
    op.create_index(op.f("ix_decisions_environment"), "decisions", ["environment"], unique=False)
    op.create_index(op.f("ix_decisions_inputs_digest"), "decisions", ["inputs_digest"], unique=False)
    op.create_index(op.f("ix_decisions_outcome"), "decisions", ["outcome"], unique=False)
    op.create_index(op.f("ix_decisions_requester"), "decisions", ["requester"], unique=False)
    op.create_index(op.f("ix_decisions_service"), "decisions", ["service"], unique=False)
    op.create_index(op.f("ix_decisions_team"), "decisions", ["team"], unique=False)
    op.create_table(
        "policies",
        sa.Column("policy_id", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("enforcement_level", sa.String(), nullable=False),
        sa.Column("resource_types", sa.JSON(), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.Column("environments", sa.JSON(), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("policy_id"),
        sa.UniqueConstraint("request_id", name="uq_policies_request_id"),
    )
    op.create_table(
        "policy_exceptions",
        sa.Column("exception_id", sa.String(), nullable=False),
        sa.Column("policy_id", sa.String(), nullable=False),
        sa.Column("resource_pattern", sa.String(), nullable=False),
        sa.Column("team", sa.String(), nullable=False),
        sa.Column("approved_by", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("exception_id"),
        sa.UniqueConstraint("request_id", name="uq_policy_exceptions_request_id"),
    )
    op.create_index(
        "ix_policy_exceptions_policy_expire", "policy_exceptions", ["policy_id", "expire_time"], unique=False
    )
    op.create_table(
        "policy_revisions",
        sa.Column("policy_id", sa.String(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "revision"),
    )


def downgrade() -> None:
    op.drop_table("policy_revisions")
    op.drop_index("ix_policy_exceptions_policy_expire", table_name="policy_exceptions")
    op.drop_table("policy_exceptions")
    op.drop_table("policies")
    op.drop_index(op.f("ix_decisions_team"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_service"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_requester"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_outcome"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_inputs_digest"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_environment"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_create_time"), table_name="decisions")
    op.drop_table("decisions")
