"""Environments: the platform's ordered environments and each service's environments as child records.

Every existing service gets a child record for the environment it was registered in, carrying its state,
plan, namespace, endpoints and annotations; the service row keeps all its columns, so nothing is lost and
a downgrade only drops the new tables. Environments services already use that are not among the defaults
are added after them, in name order, so every child names a known environment.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 22:10:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# name, approval required, soak seconds, description: the default promotion path.
DEFAULTS = (
    ("development", False, 0, "Where services start; deploys land without gates."),
    ("staging", False, 0, "Pre-production; promotions from development."),
    ("production", True, 3600, "Serves users; promotions need an approval and an hour of healthy staging."),
)


def upgrade() -> None:
    environments = op.create_table(
        "catalog_environments",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("region", sa.String(length=63), nullable=False),
        sa.Column("replicas_floor", sa.Integer(), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("soak_seconds", sa.Integer(), nullable=False),
        sa.Column("approval_timeout_seconds", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("position"),
    )
    op.create_table(
        "catalog_service_environments",
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("environment", sa.String(length=63), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("parameter_overrides", _JSON, nullable=False),
        sa.Column("plan", sa.LargeBinary(), nullable=True),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("image", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("endpoints", _JSON, nullable=False),
        sa.Column("annotations", _JSON, nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", "environment"),
    )
    op.create_index(
        "ix_catalog_service_environments_environment",
        "catalog_service_environments",
        ["environment", "service"],
        unique=False,
    )

    bind = op.get_bind()
    now = datetime.now(UTC)
    used = [r[0] for r in bind.execute(sa.text("SELECT DISTINCT environment FROM catalog_services"))]
    rows = [
        {
            "name": name,
            "position": position,
            "approval_required": approval,
            "soak_seconds": soak,
            "description": description,
        }
        for position, (name, approval, soak, description) in enumerate(DEFAULTS)
    ]
    known = {name for name, *_ in DEFAULTS}
    for extra in sorted(set(used) - known):
        rows.append(
            {
                "name": extra,
                "position": len(rows),
                "approval_required": False,
                "soak_seconds": 0,
                "description": "Found on existing services when environments became data.",
            }
        )
    op.bulk_insert(
        environments,
        [
            {
                **row,
                "namespace": "",
                "region": "",
                "replicas_floor": 0,
                "approval_timeout_seconds": 86400,
                "etag": f'"env-{row["position"]}"',
                "update_time": now,
            }
            for row in rows
        ],
    )
    # Each service's one environment becomes its first child record, with what ran there.
    bind.execute(
        sa.text(
            "INSERT INTO catalog_service_environments (service, environment, state, "
            "parameter_overrides, plan, version, image, namespace, endpoints, annotations, etag, "
            "request_id, create_time, update_time) "
            "SELECT name, environment, state, :empty_object, plan, '', '', namespace, endpoints, "
            "annotations, etag, request_id, create_time, update_time FROM catalog_services"
        ).bindparams(sa.bindparam("empty_object", {}, type_=_JSON))
    )


def downgrade() -> None:
    op.drop_index("ix_catalog_service_environments_environment", table_name="catalog_service_environments")
    op.drop_table("catalog_service_environments")
    op.drop_table("catalog_environments")
