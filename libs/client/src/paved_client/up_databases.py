"""``paved up --database-url``: the suite on PostgreSQL, one database per service on one server, each
created when missing (``paved_catalog``, ``paved_provisioning``, ...)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import make_url


def service_database_url(server_url: str, service: str) -> str:
    """``server_url`` pointed at the service's own database ``paved_<service>``."""
    url = make_url(server_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    return url.set(database=f"paved_{service}").render_as_string(hide_password=False)


def is_postgres(url: str) -> bool:
    return make_url(url).drivername.startswith(("postgresql", "postgres"))


async def ensure_databases(server_url: str, services: Iterable[str]) -> list[str]:
    """Create each service's database on the server unless it exists; returns the ones created.

    Connects to the database named in ``server_url`` (e.g. ``postgres``) to do so.
    """
    import asyncpg

    admin_dsn = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin_dsn, timeout=10)
    created = []
    try:
        for service in services:
            name = f"paved_{service}"
            if await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name) is None:
                await connection.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
    finally:
        await connection.close()
    return created
