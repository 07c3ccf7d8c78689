"""Fresh PostgreSQL databases for benchmark runs, on the server of PAVED_BENCH_DATABASE_URL or
PAVED_TEST_DATABASE_URL (default postgres@127.0.0.1:5432), dropped when the run ends."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy import make_url

DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """The SQLAlchemy URL of the PostgreSQL server benchmarks create their databases on."""
    return (
        os.environ.get("PAVED_BENCH_DATABASE_URL")
        or os.environ.get("PAVED_TEST_DATABASE_URL")
        or DEFAULT_SERVER_URL
    )


def describe(url: str) -> str:
    """What a run's output says about its database, without credentials."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "SQLite (file)"
    return f"PostgreSQL at {parsed.host}:{parsed.port or 5432}"


@contextlib.asynccontextmanager
async def postgres_database(prefix: str) -> AsyncIterator[str]:
    """A fresh database for one run, dropped afterwards; yields its SQLAlchemy URL."""
    server = make_url(server_url())
    name = f"{prefix}_{os.getpid()}"
    admin = await asyncpg.connect(server.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
