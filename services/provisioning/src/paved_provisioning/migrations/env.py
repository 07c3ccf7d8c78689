"""Alembic environment of the provisioning's schema: its own tables and version table only."""

from paved_kit.migrations import run_environment

from paved_provisioning.migrations import MIGRATIONS

run_environment(MIGRATIONS)
