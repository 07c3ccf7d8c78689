"""The catalog's template-revisions migration over a database from before it: every template keeps its
document as a revision under its own number, every service environment records the revision it came from."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from paved_catalog.migrations import MIGRATIONS
from paved_kit.db import create_engine
from paved_kit.migrations import downgrade, schema_differences, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

_TEMPLATE = (
    "INSERT INTO catalog_templates (name, description, document, revision, etag, builtin, request_id, "
    "create_time, update_time) VALUES (:name, '', :document, :revision, :etag, false, NULL, :when, :when)"
)
_SERVICE = (
    "INSERT INTO catalog_services (name, uid, team, template, template_revision, environment, state, "
    "parameters, endpoints, dashboards, documentation_url, plan, plan_summary, database_engine, namespace, "
    "annotations, etag, request_id, create_time, update_time) VALUES (:name, :uid, 'payments', :template, "
    ":revision, 'production', 'ACTIVE', '{}', '[]', '[]', '', NULL, '{}', '', 'payments', '{}', :etag, NULL, "
    ":when, :when)"
)


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _rows(engine: AsyncEngine, query: str) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(r) for r in (await connection.execute(text(query))).all()]


async def test_existing_templates_and_environments_get_their_revisions(engine: AsyncEngine) -> None:
    await upgrade(engine, MIGRATIONS, "0002")
    when = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    async with engine.begin() as connection:
        for name, revision in (("web", 1), ("worker", 3)):
            values = {"name": name, "document": f"doc of {name}", "revision": revision, "etag": name}
            await connection.execute(text(_TEMPLATE), {**values, "when": when})
        for name, template, revision in (("checkout", "web", 1), ("ledger", "worker", 3), ("old", "web", 0)):
            await connection.execute(
                text(_SERVICE),
                {
                    "name": name,
                    "uid": f"uid-{name}",
                    "template": template,
                    "revision": revision,
                    "etag": name,
                    "when": when,
                },
            )
        # The environments migration gave every service its environment record; recreate them here.
        await connection.execute(
            text(
                "INSERT INTO catalog_service_environments (service, environment, state, parameter_overrides, "
                "plan, version, image, namespace, endpoints, annotations, etag, request_id, create_time, "
                "update_time) SELECT name, environment, state, '{}', plan, '', '', namespace, endpoints, "
                "annotations, etag, request_id, create_time, update_time FROM catalog_services"
            )
        )
    templates_before = await _rows(engine, "SELECT * FROM catalog_templates ORDER BY name")

    await upgrade(engine, MIGRATIONS)

    assert await _rows(engine, "SELECT * FROM catalog_templates ORDER BY name") == templates_before
    revisions = await _rows(
        engine,
        "SELECT template, revision, document, digest, author FROM catalog_template_revisions ORDER BY 1, 2",
    )
    assert revisions == [
        ("web", 1, "doc of web", hashlib.sha256(b"doc of web").hexdigest(), ""),
        ("worker", 3, "doc of worker", hashlib.sha256(b"doc of worker").hexdigest(), ""),
    ]
    environments = await _rows(
        engine, "SELECT service, template_revision FROM catalog_service_environments ORDER BY service"
    )
    assert environments == [("checkout", 1), ("ledger", 3), ("old", 1)]
    async with engine.connect() as connection:
        assert await connection.run_sync(lambda c: schema_differences(c, MIGRATIONS)) == []

    await downgrade(engine, MIGRATIONS, "0002")
    assert await _rows(engine, "SELECT * FROM catalog_templates ORDER BY name") == templates_before
    async with engine.connect() as connection:
        columns = await connection.run_sync(
            lambda c: [column["name"] for column in inspect(c).get_columns("catalog_service_environments")]
        )
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
    assert "template_revision" not in columns and "catalog_template_revisions" not in tables
