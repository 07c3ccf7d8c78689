"""The catalog's environments migration over a database holding services from before it: every service
gets its environment record with what ran there, environments in use become known ones, nothing is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from paved_catalog.migrations import MIGRATIONS
from paved_kit.db import create_engine
from paved_kit.migrations import downgrade, schema_differences, upgrade
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_SERVICE = (
    "INSERT INTO catalog_services (name, uid, team, template, template_revision, environment, state, "
    "parameters, endpoints, dashboards, documentation_url, plan, plan_summary, database_engine, namespace, "
    "annotations, etag, request_id, create_time, update_time) VALUES (:name, :uid, :team, 'web-service', 1, "
    ":environment, :state, '{\"language\": \"go\"}', '[\"https://checkout.example\"]', '[]', '', :plan, "
    "'{}', '', :namespace, '{\"paved.dev/commit\": \"abc123\"}', :etag, :request_id, :created, :created)"
)


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _rows(engine: AsyncEngine, query: str) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(r) for r in (await connection.execute(text(query))).all()]


async def test_services_from_before_environments_keep_everything(engine: AsyncEngine) -> None:
    await upgrade(engine, MIGRATIONS, "0001")
    created = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    async with engine.begin() as connection:
        for name, environment, state, plan in (
            ("checkout", "production", "ACTIVE", b"\x0a\x08checkout"),
            ("ledger", "qa", "FAILED", None),
        ):
            await connection.execute(
                text(_SERVICE),
                {
                    "name": name,
                    "uid": f"uid-{name}",
                    "team": "payments",
                    "environment": environment,
                    "state": state,
                    "plan": plan,
                    "namespace": "payments",
                    "etag": f'"{name}"',
                    "request_id": f"op-{name}",
                    "created": created,
                },
            )
    before = await _rows(engine, "SELECT * FROM catalog_services ORDER BY name")

    await upgrade(engine, MIGRATIONS)

    assert await _rows(engine, "SELECT * FROM catalog_services ORDER BY name") == before
    environments = await _rows(
        engine, "SELECT name, position, approval_required FROM catalog_environments ORDER BY position"
    )
    assert [(n, p) for n, p, _ in environments] == [
        ("development", 0),
        ("staging", 1),
        ("production", 2),
        ("qa", 3),
    ]
    assert [bool(a) for *_, a in environments] == [False, False, True, False]
    children = await _rows(
        engine,
        "SELECT service, environment, state, plan, namespace, endpoints, annotations, request_id "
        "FROM catalog_service_environments ORDER BY service",
    )
    assert [(c[0], c[1], c[2], bytes(c[3]) if c[3] is not None else None, c[4], c[7]) for c in children] == [
        ("checkout", "production", "ACTIVE", b"\x0a\x08checkout", "payments", "op-checkout"),
        ("ledger", "qa", "FAILED", None, "payments", "op-ledger"),
    ]
    assert "https://checkout.example" in str(children[0][5]) and "abc123" in str(children[0][6])
    async with engine.connect() as connection:
        assert await connection.run_sync(lambda c: schema_differences(c, MIGRATIONS)) == []

    await downgrade(engine, MIGRATIONS, "0001")
    assert await _rows(engine, "SELECT * FROM catalog_services ORDER BY name") == before
