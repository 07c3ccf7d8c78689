"""Alembic environment of the policy's schema: its own tables and version table only."""

from paved_kit.migrations import run_environment

from paved_policy.migrations import MIGRATIONS

run_environment(MIGRATIONS)
