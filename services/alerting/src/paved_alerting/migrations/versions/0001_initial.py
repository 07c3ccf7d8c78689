"""Initial schema of the alerting: its tables as the models declared them when migrations began.

Revision ID: 0001
Revises: none
Create Date: 2026-11-26 06:25:31.027850
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
        "alert_rules",
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("team", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("metric", sa.String(length=63), nullable=False),
        sa.Column("operator", sa.String(length=2), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("for_ms", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("default_rule", sa.Boolean(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.Column("create_time", sa.Float(), nullable=False),
        sa.Column("update_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_alert_rules_service"), "alert_rules", ["service"], unique=False)
    op.create_index(op.f("ix_alert_rules_team"), "alert_rules", ["team"], unique=False)
    op.create_table(
        "alerts",
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("team", sa.String(length=63), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("active_at", sa.Float(), nullable=True),
        sa.Column("fired_at", sa.Float(), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("fingerprint", sa.String(length=16), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("rule_id"),
    )
    op.create_index(op.f("ix_alerts_service"), "alerts", ["service"], unique=False)
    op.create_index(op.f("ix_alerts_severity"), "alerts", ["severity"], unique=False)
    op.create_index(op.f("ix_alerts_state"), "alerts", ["state"], unique=False)
    op.create_index(op.f("ix_alerts_team"), "alerts", ["team"], unique=False)
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receiver", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ordering_key", sa.String(length=100), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("dead", sa.Boolean(), nullable=False),
        sa.Column("create_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_notification_outbox_dead"), "notification_outbox", ["dead"], unique=False)
    op.create_index(
        op.f("ix_notification_outbox_next_attempt_at"),
        "notification_outbox",
        ["next_attempt_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notification_outbox_ordering_key"), "notification_outbox", ["ordering_key"], unique=False
    )
    op.create_table(
        "receivers",
        sa.Column("receiver_id", sa.String(length=63), nullable=False),
        sa.Column("team", sa.String(length=63), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("send_resolved", sa.Boolean(), nullable=False),
        sa.Column("create_time", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("receiver_id"),
    )
    op.create_index(op.f("ix_receivers_team"), "receivers", ["team"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_receivers_team"), table_name="receivers")
    op.drop_table("receivers")
    op.drop_index(op.f("ix_notification_outbox_ordering_key"), table_name="notification_outbox")
    op.drop_index(op.f("ix_notification_outbox_next_attempt_at"), table_name="notification_outbox")
    op.drop_index(op.f("ix_notification_outbox_dead"), table_name="notification_outbox")
    op.drop_table("notification_outbox")
    op.drop_index(op.f("ix_alerts_team"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_state"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_severity"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_service"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_index(op.f("ix_alert_rules_team"), table_name="alert_rules")
    op.drop_index(op.f("ix_alert_rules_service"), table_name="alert_rules")
    op.drop_table("alert_rules")
