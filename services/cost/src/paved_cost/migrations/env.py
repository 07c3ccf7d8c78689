"""Alembic environment of the cost's schema: its own tables and version table only."""

from paved_kit.migrations import run_environment

from paved_cost.migrations import MIGRATIONS

run_environment(MIGRATIONS)
