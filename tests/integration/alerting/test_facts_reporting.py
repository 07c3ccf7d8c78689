"""Alerting tells the REAL catalog whether a service's default alerts are in place whenever its rules change,
so the scorecard's default-alerts check flips; a catalog that is away never fails a rule change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from google.protobuf import field_mask_pb2
from paved.alerting.v1 import alerting_pb2
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_catalog.__main__ import build_catalog
from paved_catalog.migrations import MIGRATIONS
from paved_catalog.registration import add_catalog_servicer_to_server
from paved_catalog.servicer import SERVICE_NAME, CatalogServicer
from paved_catalog.settings import CatalogSettings
from paved_kit.db import create_engine
from paved_kit.migrations import prepare_schema


@pytest_asyncio.fixture
async def catalog(
    database_url: str, grpc_server_factory: Any, grpc_channel_factory: Any
) -> AsyncIterator[tuple[str, catalog_pb2_grpc.CatalogServiceStub]]:
    engine = create_engine(database_url)
    # The catalog's migrations seed the platform's environments, which a service is created in.
    await prepare_schema(engine, MIGRATIONS, migrate=True)
    service = build_catalog(CatalogSettings(database_url=database_url, port=0), engine)
    await service.templates.seed_builtins()
    server = await grpc_server_factory(
        (add_catalog_servicer_to_server, CatalogServicer(service), SERVICE_NAME),
        name="catalog",
    )
    stub = catalog_pb2_grpc.CatalogServiceStub(grpc_channel_factory(server))
    render = catalog_pb2.RenderTemplateRequest(
        template="templates/web-service",
        context=catalog_pb2.RenderContext(service_name="shop", team="retail"),
    )
    render.parameters.update({"service_name": "shop", "language": "go"})
    plan = (await stub.RenderTemplate(render)).plan
    await stub.CreateService(
        catalog_pb2.CreateServiceRequest(service=catalog_pb2.Service(name="services/shop", plan=plan))
    )
    yield server.address, stub
    await engine.dispose()


async def _default_alerts(stub: catalog_pb2_grpc.CatalogServiceStub) -> catalog_pb2.ScorecardCheck:
    card = await stub.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/shop"))
    return next(c for c in card.checks if c.id == "default_alerts")


async def test_default_alerts_check_follows_the_rules(
    start_alerting: Any, catalog: tuple[str, catalog_pb2_grpc.CatalogServiceStub]
) -> None:
    address, stub = catalog
    alerting = await start_alerting(catalog_address=address)
    facts = alerting.app.facts
    assert facts is not None
    assert not (await _default_alerts(stub)).passed

    await alerting.stub.CreateDefaultAlerts(
        alerting_pb2.CreateDefaultAlertsRequest(service="shop", team="retail")
    )
    await asyncio.wait_for(facts.drain(), 5)
    check = await _default_alerts(stub)
    assert check.passed and check.evidence == "default alerts in place"

    # Turning one default off: no longer in place.
    await alerting.stub.UpdateAlertRule(
        alerting_pb2.UpdateAlertRuleRequest(
            alert_rule=alerting_pb2.AlertRule(name="alertRules/shop-service-down", enabled=False),
            update_mask=field_mask_pb2.FieldMask(paths=["enabled"]),
        )
    )
    await asyncio.wait_for(facts.drain(), 5)
    assert not (await _default_alerts(stub)).passed

    await alerting.stub.UpdateAlertRule(
        alerting_pb2.UpdateAlertRuleRequest(
            alert_rule=alerting_pb2.AlertRule(name="alertRules/shop-service-down", enabled=True),
            update_mask=field_mask_pb2.FieldMask(paths=["enabled"]),
        )
    )
    await asyncio.wait_for(facts.drain(), 5)
    assert (await _default_alerts(stub)).passed

    await alerting.stub.DeleteAlertRule(
        alerting_pb2.DeleteAlertRuleRequest(name="alertRules/shop-high-latency")
    )
    await asyncio.wait_for(facts.drain(), 5)
    assert not (await _default_alerts(stub)).passed


async def test_rule_changes_succeed_when_the_catalog_is_away(start_alerting: Any) -> None:
    # Nothing listens on port 9 of the loopback.
    alerting = await start_alerting(catalog_address="127.0.0.1:9")
    reply = await alerting.stub.CreateDefaultAlerts(
        alerting_pb2.CreateDefaultAlertsRequest(service="shop", team="retail")
    )
    assert len(reply.alert_rules) == 4
    assert alerting.app.facts is not None
    await asyncio.wait_for(alerting.app.facts.drain(), 5)
