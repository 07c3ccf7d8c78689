"""The alerting's schema migrations (Alembic, configured in code by paved_kit.migrations)."""

from __future__ import annotations

from pathlib import Path

from paved_kit.migrations import Migrations

from paved_alerting.models import AlertingModel

MIGRATIONS = Migrations(
    script_location=Path(__file__).parent,
    # Its own version table, so the services may share one PostgreSQL database.
    version_table="alembic_version_alerting",
    metadata=AlertingModel.metadata,
)
