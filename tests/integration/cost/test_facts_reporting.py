"""Cost tells the REAL catalog whether a service's resources are tracked and how many cost recommendations
are open, so the scorecard's cost checks flip; a catalog that is away never fails a registration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from google.protobuf import struct_pb2
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2, cost_pb2_grpc
from paved_catalog.__main__ import build_catalog
from paved_catalog.migrations import MIGRATIONS
from paved_catalog.registration import add_catalog_servicer_to_server
from paved_catalog.servicer import SERVICE_NAME, CatalogServicer
from paved_catalog.settings import CatalogSettings
from paved_cost.app import CostApp, build_app, register
from paved_cost.settings import CostSettings
from paved_kit.db import create_engine
from paved_kit.migrations import prepare_schema


@dataclass
class Pair:
    cost: cost_pb2_grpc.CostServiceStub
    catalog: catalog_pb2_grpc.CatalogServiceStub
    app: CostApp


def compute(spot: bool) -> common_pb2.Resource:
    properties = struct_pb2.Struct()
    properties.update({"instance_type": "m5.large", "min_instances": 2, "max_instances": 4, "spot": spot})
    return common_pb2.Resource(name="compute", type="compute", properties=properties)


@pytest_asyncio.fixture
async def pair(database_url: str, grpc_server_factory: Any, grpc_channel_factory: Any) -> AsyncIterator[Pair]:
    catalog_engine = create_engine(database_url)
    # The catalog's migrations seed the platform's environments, which a service is created in.
    await prepare_schema(catalog_engine, MIGRATIONS, migrate=True)
    catalog = build_catalog(CatalogSettings(database_url=database_url, port=0), catalog_engine)
    await catalog.templates.seed_builtins()
    catalog_server = await grpc_server_factory(
        (add_catalog_servicer_to_server, CatalogServicer(catalog), SERVICE_NAME),
        name="catalog",
    )
    cost_engine = create_engine(database_url)
    app = await build_app(
        CostSettings(database_url=database_url, port=0, catalog_address=catalog_server.address), cost_engine
    )
    cost_server = await grpc_server_factory(lambda s: register(s, app), name="cost")
    yield Pair(
        cost_pb2_grpc.CostServiceStub(grpc_channel_factory(cost_server)),
        catalog_pb2_grpc.CatalogServiceStub(grpc_channel_factory(catalog_server)),
        app,
    )
    await app.close()
    await cost_engine.dispose()
    await catalog_engine.dispose()


async def _checks(pair: Pair) -> dict[str, catalog_pb2.ScorecardCheck]:
    assert pair.app.facts is not None
    await asyncio.wait_for(pair.app.facts.drain(), 10)
    card = await pair.catalog.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/shop"))
    return {c.id: c for c in card.checks}


async def test_cost_checks_follow_registration_and_recommendations(pair: Pair) -> None:
    render = catalog_pb2.RenderTemplateRequest(
        template="templates/web-service",
        context=catalog_pb2.RenderContext(service_name="shop", team="retail"),
    )
    render.parameters.update({"service_name": "shop", "language": "go"})
    plan = (await pair.catalog.RenderTemplate(render)).plan
    await pair.catalog.CreateService(
        catalog_pb2.CreateServiceRequest(service=catalog_pb2.Service(name="services/shop", plan=plan))
    )
    checks = await _checks(pair)
    assert not checks["cost_tracked"].passed and not checks["no_cost_recommendations"].passed

    # On-demand compute: cost recommends spot.
    await pair.cost.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="shop", team="retail", environment="production", resources=[compute(spot=False)]
        )
    )
    recommendations = await pair.cost.ListRecommendations(
        cost_pb2.ListRecommendationsRequest(filter='service = "shop"')
    )
    expected = len(recommendations.recommendations)
    assert expected >= 1
    checks = await _checks(pair)
    assert checks["cost_tracked"].passed
    assert not checks["no_cost_recommendations"].passed
    assert checks["no_cost_recommendations"].evidence == f"{expected} open cost recommendation(s)"

    # Already on spot: nothing left to recommend.
    await pair.cost.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="shop", team="retail", environment="production", resources=[compute(spot=True)]
        )
    )
    left = await pair.cost.ListRecommendations(cost_pb2.ListRecommendationsRequest(filter='service = "shop"'))
    checks = await _checks(pair)
    assert checks["no_cost_recommendations"].passed is (len(left.recommendations) == 0)

    await pair.cost.UnregisterResources(cost_pb2.UnregisterResourcesRequest(service="shop"))
    checks = await _checks(pair)
    assert not checks["cost_tracked"].passed


async def test_registration_succeeds_when_the_catalog_is_away(
    database_url: str, grpc_server_factory: Any, grpc_channel_factory: Any
) -> None:
    engine = create_engine(database_url)
    # Nothing listens on port 9 of the loopback.
    app = await build_app(
        CostSettings(database_url=database_url, port=0, catalog_address="127.0.0.1:9"), engine
    )
    server = await grpc_server_factory(lambda s: register(s, app), name="cost")
    stub = cost_pb2_grpc.CostServiceStub(grpc_channel_factory(server))
    reply = await stub.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="shop", team="retail", environment="production", resources=[compute(spot=False)]
        )
    )
    assert reply.tracked == 1
    await app.close()
    await engine.dispose()
