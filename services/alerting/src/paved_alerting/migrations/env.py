"""Alembic environment of the alerting's schema: its own tables and version table only."""

from paved_kit.migrations import run_environment

from paved_alerting.migrations import MIGRATIONS

run_environment(MIGRATIONS)
