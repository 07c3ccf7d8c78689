"""Policy tells the REAL catalog how many open violations a service's last evaluation found, so the
scorecard's policy check flips with the decisions; reporting never fails an evaluation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.common.v1 import common_pb2
from paved.policy.v1 import policy_pb2, policy_pb2_grpc
from paved_catalog.__main__ import build_catalog
from paved_catalog.migrations import MIGRATIONS
from paved_catalog.registration import add_catalog_servicer_to_server
from paved_catalog.servicer import SERVICE_NAME, CatalogServicer
from paved_catalog.settings import CatalogSettings
from paved_kit.db import create_engine
from paved_kit.migrations import prepare_schema
from paved_policy.app import PolicyApp, build_app, register
from paved_policy.settings import PolicySettings

TAGS = {"owner": "payments", "team": "payments", "cost_center": "cc-1", "environment": "production"}


@dataclass
class Pair:
    policy: policy_pb2_grpc.PolicyServiceStub
    catalog: catalog_pb2_grpc.CatalogServiceStub
    app: PolicyApp


@pytest_asyncio.fixture
async def pair(database_url: str, grpc_server_factory: Any, grpc_channel_factory: Any) -> AsyncIterator[Pair]:
    # Each service keeps its own tables; one test database holds both.
    catalog_engine = create_engine(database_url)
    # The catalog's migrations seed the platform's environments, which a service is created in.
    await prepare_schema(catalog_engine, MIGRATIONS, migrate=True)
    catalog = build_catalog(CatalogSettings(database_url=database_url, port=0), catalog_engine)
    await catalog.templates.seed_builtins()
    catalog_server = await grpc_server_factory(
        (add_catalog_servicer_to_server, CatalogServicer(catalog), SERVICE_NAME),
        name="catalog",
    )
    policy_engine = create_engine(database_url)
    settings = PolicySettings(database_url=database_url, port=0, catalog_address=catalog_server.address)
    app = await build_app(settings, policy_engine)
    policy_server = await grpc_server_factory(lambda s: register(s, app), name="policy")
    yield Pair(
        policy_pb2_grpc.PolicyServiceStub(grpc_channel_factory(policy_server)),
        catalog_pb2_grpc.CatalogServiceStub(grpc_channel_factory(catalog_server)),
        app,
    )
    await app.decisions.facts.close()
    await policy_engine.dispose()
    await catalog_engine.dispose()


async def _evaluate(pair: Pair, service: str, *, encrypted: bool) -> policy_pb2.EvaluateResponse:
    database = common_pb2.Resource(name="database", type="database", tags=TAGS)
    database.properties.update({"engine": "postgres", "encrypted": encrypted})
    response = await pair.policy.Evaluate(
        policy_pb2.EvaluateRequest(
            resources=[common_pb2.Resource(name="compute", type="compute", tags=TAGS), database],
            context=policy_pb2.EvaluationContext(
                team="payments", environment="production", requester="alice", service=service
            ),
        )
    )
    await asyncio.wait_for(pair.app.decisions.facts.drain(), 5)
    return response


async def _policy_check(pair: Pair, service: str) -> catalog_pb2.ScorecardCheck:
    card = await pair.catalog.GetScorecard(catalog_pb2.GetScorecardRequest(service=f"services/{service}"))
    return next(c for c in card.checks if c.id == "policy_compliant")


async def _register(pair: Pair, service: str) -> None:
    render = catalog_pb2.RenderTemplateRequest(
        template="templates/web-service",
        context=catalog_pb2.RenderContext(service_name=service, team="payments"),
    )
    render.parameters.update({"service_name": service, "language": "go"})
    plan = (await pair.catalog.RenderTemplate(render)).plan
    await pair.catalog.CreateService(
        catalog_pb2.CreateServiceRequest(service=catalog_pb2.Service(name=f"services/{service}", plan=plan))
    )


async def test_policy_check_flips_with_each_decision(pair: Pair) -> None:
    await _register(pair, "ledger")
    check = await _policy_check(pair, "ledger")
    assert not check.passed and check.evidence == "no policy decision reported"

    denied = await _evaluate(pair, "ledger", encrypted=False)
    assert denied.outcome == policy_pb2.DECISION_OUTCOME_DENY
    check = await _policy_check(pair, "ledger")
    assert not check.passed and check.evidence == "1 policy violation(s) in the last decision"
    assert check.remediation

    await _evaluate(pair, "ledger", encrypted=True)
    check = await _policy_check(pair, "ledger")
    assert check.passed and check.evidence == "0 policy violation(s) in the last decision"


async def test_decision_before_registration_counts_once_registered(pair: Pair) -> None:
    # The create flow evaluates a plan before provisioning registers the service.
    await _evaluate(pair, "billing", encrypted=True)
    await _register(pair, "billing")
    assert (await _policy_check(pair, "billing")).passed


async def test_evaluate_succeeds_when_the_catalog_is_away(
    database_url: str, grpc_server_factory: Any, grpc_channel_factory: Any
) -> None:
    engine = create_engine(database_url)
    # Nothing listens on port 9 of the loopback: the report fails, the decision stands.
    app = await build_app(
        PolicySettings(database_url=database_url, port=0, catalog_address="127.0.0.1:9"), engine
    )
    server = await grpc_server_factory(lambda s: register(s, app), name="policy")
    stub = policy_pb2_grpc.PolicyServiceStub(grpc_channel_factory(server))
    response = await stub.Evaluate(
        policy_pb2.EvaluateRequest(
            resources=[common_pb2.Resource(name="compute", type="compute", tags=TAGS)],
            context=policy_pb2.EvaluationContext(team="payments", service="orders", requester="bob"),
        )
    )
    assert response.outcome == policy_pb2.DECISION_OUTCOME_ALLOW
    await app.decisions.facts.close()
    await engine.dispose()
