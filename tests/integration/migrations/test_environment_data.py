"""Alerting's and cost's environment migrations over databases holding data from before them: alert rules
and alerts made before they had environments watch the default one, development; each cost registration
becomes its environment's estimate; nothing else changes, and each migration goes back down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest_asyncio
from paved_alerting.migrations import MIGRATIONS as ALERTING
from paved_cost.migrations import MIGRATIONS as COST
from paved_kit.db import create_engine
from paved_kit.migrations import downgrade, schema_differences, upgrade
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_RULE = (
    "INSERT INTO alert_rules (rule_id, service, team, display_name, metric, operator, threshold, for_ms, "
    "severity, labels, annotations, enabled, default_rule, etag, request_id, create_time, update_time) "
    "VALUES (:rule_id, 'checkout', 'payments', 'Service Down', 'up', '==', 0, 60000, 'critical', '{}', "
    "'{}', true, true, 'e1', NULL, 1.0, 1.0)"
)
_ALERT = (
    "INSERT INTO alerts (rule_id, service, team, severity, state, display_name, value, active_at, fired_at, "
    "resolved_at, fingerprint, labels, annotations) VALUES ('checkout-service-down', 'checkout', 'payments', "
    "'critical', 'firing', 'Service Down', 0, 1.0, 61.0, NULL, 'f00d', '{}', '{}')"
)
_REGISTRATION = (
    "INSERT INTO cost_service (service, team, environment, estimated_monthly_cost, currency, registered_at) "
    "VALUES (:service, 'payments', :environment, :cost, 'USD', :at)"
)


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _rows(engine: AsyncEngine, query: str) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(r) for r in (await connection.execute(text(query))).all()]


async def test_alert_rules_and_alerts_from_before_environments_watch_development(engine: AsyncEngine) -> None:
    await upgrade(engine, ALERTING, "0002")
    async with engine.begin() as connection:
        await connection.execute(text(_RULE), {"rule_id": "checkout-service-down"})
        await connection.execute(text(_ALERT))
    before = await _rows(engine, "SELECT rule_id, service, team, metric, threshold FROM alert_rules")

    await upgrade(engine, ALERTING)

    assert await _rows(engine, "SELECT rule_id, service, team, metric, threshold FROM alert_rules") == before
    assert await _rows(engine, "SELECT rule_id, environment FROM alert_rules") == [
        ("checkout-service-down", "development")
    ]
    assert await _rows(engine, "SELECT rule_id, state, environment FROM alerts") == [
        ("checkout-service-down", "firing", "development")
    ]
    async with engine.connect() as connection:
        assert await connection.run_sync(lambda c: schema_differences(c, ALERTING)) == []
    await downgrade(engine, ALERTING, "0002")
    assert await _rows(engine, "SELECT rule_id, service, team, metric, threshold FROM alert_rules") == before


async def test_each_cost_registration_becomes_its_environments_estimate(engine: AsyncEngine) -> None:
    await upgrade(engine, COST, "0001")
    at = datetime(2026, 12, 1, tzinfo=UTC)
    async with engine.begin() as connection:
        for service, environment, cost in (("checkout", "production", "412.50"), ("ledger", "staging", None)):
            await connection.execute(
                text(_REGISTRATION), {"service": service, "environment": environment, "cost": cost, "at": at}
            )
    before = await _rows(
        engine, "SELECT service, team, environment, estimated_monthly_cost FROM cost_service"
    )

    await upgrade(engine, COST)

    assert (
        await _rows(engine, "SELECT service, team, environment, estimated_monthly_cost FROM cost_service")
        == before
    )
    estimates = await _rows(
        engine,
        "SELECT service, environment, team, estimated_monthly_cost, currency FROM cost_environment "
        "ORDER BY service",
    )
    assert [(s, e, t, c) for s, e, t, _, c in estimates] == [
        ("checkout", "production", "payments", "USD"),
        ("ledger", "staging", "payments", "USD"),
    ]
    assert str(estimates[0][3]).startswith("412.5") and estimates[1][3] is None
    async with engine.connect() as connection:
        assert await connection.run_sync(lambda c: schema_differences(c, COST)) == []
    await downgrade(engine, COST, "0001")
    assert (
        await _rows(engine, "SELECT service, team, environment, estimated_monthly_cost FROM cost_service")
        == before
    )
