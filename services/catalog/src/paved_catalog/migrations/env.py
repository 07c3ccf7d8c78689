"""Alembic environment of the catalog's schema: its own tables and version table only."""

from paved_kit.migrations import run_environment

from paved_catalog.migrations import MIGRATIONS

run_environment(MIGRATIONS)
