"""Every service's migrations build exactly the schema its models declare, on SQLite and PostgreSQL,
step down and up again, adopt a database made by create_all, and run as ``python -m paved_<name> migrate``."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from paved_kit.db import create_engine, create_schema
from paved_kit.migrations import (
    Migrations,
    SchemaError,
    current,
    downgrade,
    prepare_schema,
    schema_differences,
    upgrade,
)
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

SERVICES = ["catalog", "policy", "cost", "provisioning", "alerting"]


def migrations_of(service: str) -> Migrations:
    migrations: Migrations = importlib.import_module(f"paved_{service}.migrations").MIGRATIONS
    return migrations


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def differences(engine: AsyncEngine, migrations: Migrations) -> list[object]:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda c: schema_differences(c, migrations))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(_table_names)


@pytest.mark.parametrize("service", SERVICES)
async def test_head_matches_the_models_and_steps_down_and_up(engine: AsyncEngine, service: str) -> None:
    migrations = migrations_of(service)
    head = migrations.head()
    assert head is not None

    await upgrade(engine, migrations)

    assert await current(engine, migrations) == head
    assert await differences(engine, migrations) == []
    assert set(migrations.metadata.tables) <= await tables(engine)

    await downgrade(engine, migrations, "-1")
    previous = await current(engine, migrations)
    assert previous != head
    if previous is None:
        assert not set(migrations.metadata.tables) & await tables(engine)

    await upgrade(engine, migrations)
    assert await current(engine, migrations) == head
    assert await differences(engine, migrations) == []


@pytest.mark.parametrize("service", SERVICES)
async def test_database_made_by_create_all_is_adopted_at_head(engine: AsyncEngine, service: str) -> None:
    migrations = migrations_of(service)
    await create_schema(engine, migrations.metadata)

    outcome = await prepare_schema(engine, migrations, migrate=True)

    assert outcome.startswith("adopted")
    assert await current(engine, migrations) == migrations.head()
    assert await prepare_schema(engine, migrations, migrate=False) == "up to date"


async def test_older_database_without_version_is_refused_with_advice(engine: AsyncEngine) -> None:
    migrations = migrations_of("catalog")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE catalog_templates (name VARCHAR(63) PRIMARY KEY)"))

    with pytest.raises(SchemaError, match=r"no alembic_version_catalog table.*delete it"):
        await prepare_schema(engine, migrations, migrate=True)

    assert await current(engine, migrations) is None
    assert await tables(engine) == {"catalog_templates"}


async def test_outdated_schema_is_refused_when_not_migrating_on_start(engine: AsyncEngine) -> None:
    migrations = migrations_of("policy")

    with pytest.raises(SchemaError, match="run `migrate` first"):
        await prepare_schema(engine, migrations, migrate=False)

    assert await tables(engine) == set()


@pytest.mark.postgres
async def test_services_share_one_postgres_database(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        catalog, cost = migrations_of("catalog"), migrations_of("cost")
        await asyncio.gather(upgrade(engine, catalog), upgrade(engine, cost))

        assert await differences(engine, catalog) == []
        assert await differences(engine, cost) == []
        await downgrade(engine, catalog, "base")

        present = await tables(engine)
        assert not set(catalog.metadata.tables) & present
        assert set(cost.metadata.tables) <= present
        assert await current(engine, cost) == cost.head()
    finally:
        await engine.dispose()


async def test_concurrent_start_ups_in_one_process_migrate_once(database_url: str) -> None:
    migrations = migrations_of("provisioning")
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        outcomes = await asyncio.gather(*(prepare_schema(e, migrations) for e in engines))
        assert sum(outcome.startswith("upgraded") for outcome in outcomes) == 1
        assert await differences(engines[0], migrations) == []
    finally:
        for engine in engines:
            await engine.dispose()


async def _migrate_command(service: str, database: Path, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        f"PAVED_{service.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        f"PAVED_{service.upper()}_LOG_FORMAT": "json",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"paved_{service}",
        "migrate",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode()


async def test_migrate_command_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    results = await asyncio.gather(
        *(_migrate_command(service, tmp_path / f"{service}.db") for service in SERVICES)
    )

    for service, (code, output) in zip(SERVICES, results, strict=True):
        assert code == 0, output
        assert "schema migrated" in output
        migrations = migrations_of(service)
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / f'{service}.db'}")
        try:
            assert await current(engine, migrations) == migrations.head()
            assert await differences(engine, migrations) == []
        finally:
            await engine.dispose()


async def test_migrate_command_downgrades_and_reports_failures(tmp_path: Path) -> None:
    database = tmp_path / "cost.db"
    (code, output), (bad_code, bad_output) = await asyncio.gather(
        _migrate_command("cost", database),
        _migrate_command("cost", tmp_path / "other.db", "--revision", "no-such-revision"),
    )
    assert code == 0, output
    assert bad_code == 1
    assert "migration failed" in bad_output

    code, output = await _migrate_command("cost", database, "--downgrade", "base")
    assert code == 0, output
    assert '"revision": null' in output
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        assert await tables(engine) == {"alembic_version_cost"}
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_start_up_waits_for_a_migration_running_elsewhere(postgres_url: str) -> None:
    migrations = migrations_of("policy")
    other, engine = create_engine(postgres_url), create_engine(postgres_url)
    try:
        async with other.connect() as held:
            # Another replica (another process) is migrating this service's schema right now.
            await held.execute(text("SELECT pg_advisory_lock(:key)"), {"key": migrations.advisory_lock_key()})
            start_up = asyncio.create_task(prepare_schema(engine, migrations))
            await asyncio.sleep(0.5)
            assert not start_up.done()
            await held.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": migrations.advisory_lock_key()}
            )
            assert (await asyncio.wait_for(start_up, 10)).startswith("upgraded")
    finally:
        await other.dispose()
        await engine.dispose()
