"""Promotions against the REAL catalog, alerting and cost services: a promotion waiting for its approval
is parked (no worker holds it) until someone other than its requester decides; the promoted environment
gets its own alerts and cost estimate; a promotion that fails after its gates leaves a failed deployment
in the target, which production's change failure rate counts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import pytest
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2, field_mask_pb2, struct_pb2
from google.type import money_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.cost.v1 import cost_pb2, cost_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved_kit.grpc_errors import error_details
from paved_provisioning.models import Operation
from provisioning_harness import Harness, HarnessFactory, metadata, steps
from provisioning_peers import RealPeers
from sqlmodel.ext.asyncio.session import AsyncSession

pytestmark = [
    pytest.mark.timeout(180),
]


@pytest.fixture
def health_server() -> Iterator[str]:
    """Answers 200 for staging and 503 for production: the smoke tests fail only in production."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503 if self.path.endswith("/production") else 200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{{service}}/{{environment}}"
    server.shutdown()


class Suite:
    def __init__(self, h: Harness, peers: RealPeers, channels: Any) -> None:
        self.h = h
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(channels(peers.address("catalog")))
        self.alerting = alerting_pb2_grpc.AlertingServiceStub(channels(peers.address("alerting")))
        self.cost = cost_pb2_grpc.CostServiceStub(channels(peers.address("cost")))

    async def plan(self, environment: str) -> Any:
        parameters = struct_pb2.Struct()
        parameters.update(
            {"service_name": "checkout", "team": "payments", "language": "go", "database": "none"}
        )
        rendered = await self.catalog.RenderTemplate(
            catalog_pb2.RenderTemplateRequest(
                template="templates/web-service",
                parameters=parameters,
                context=catalog_pb2.RenderContext(
                    service_name="checkout", team="payments", environment=environment
                ),
            )
        )
        return rendered.plan

    async def in_staging(self) -> None:
        """checkout provisioned in development and staging, 1.2.3 deployed to staging."""
        for environment in ("development", "staging"):
            op = await self.h.stub.ProvisionService(
                pb.ProvisionServiceRequest(
                    plan=await self.plan(environment),
                    estimated_monthly_cost=money_pb2.Money(currency_code="USD", units=100),
                    requester="alice",
                )
            )
            op = await self.h.wait(op.name)
            assert not op.HasField("error"), (op.error, steps(op))
        deploy = await self.h.wait(
            (
                await self.h.stub.RunWorkflow(
                    pb.RunWorkflowRequest(
                        service="services/checkout", workflow="deploy", version="1.2.3", environment="staging"
                    )
                )
            ).name
        )
        assert not deploy.HasField("error"), (deploy.error, steps(deploy))

    async def production(self, *, approval: bool) -> None:
        await self.catalog.UpdateEnvironment(
            catalog_pb2.UpdateEnvironmentRequest(
                environment=catalog_pb2.Environment(
                    name="environments/production",
                    approval_required=approval,
                    soak_time=duration_pb2.Duration(seconds=0),
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["approval_required", "soak_time"]),
            )
        )

    async def promote(self) -> Any:
        return await self.h.stub.PromoteService(
            pb.PromoteServiceRequest(
                service="services/checkout",
                source_environment="staging",
                target_environment="production",
                plan=await self.plan("production"),
                estimated_monthly_cost=money_pb2.Money(currency_code="USD", units=250),
                policy_decision=pb.PolicyDecisionRef(decision="decisions/d1", outcome="ALLOW"),
                requester="alice",
            )
        )


async def test_a_waiting_approval_is_parked_and_needs_four_eyes(
    harness_factory: HarnessFactory, real_peers: RealPeers, grpc_channel_factory: Any
) -> None:
    h = await harness_factory(
        catalog_address=real_peers.address("catalog"),
        alerting_address=real_peers.address("alerting"),
        cost_address=real_peers.address("cost"),
        worker_concurrency=1,
    )
    suite = Suite(h, real_peers, grpc_channel_factory)
    await suite.in_staging()
    await suite.production(approval=True)
    promotion = await suite.promote()

    deadline = asyncio.get_running_loop().time() + 30
    while True:
        op = await h.ops.GetOperation(operations_pb2.GetOperationRequest(name=promotion.name))
        gate = steps(op)["gate_approval"]
        if "waiting for an approval" in gate.detail:
            break
        assert asyncio.get_running_loop().time() < deadline, steps(op)
        await asyncio.sleep(0.05)
    assert gate.state == pb.STEP_STATE_RUNNING and "someone other than alice" in gate.detail
    # Parked: nobody holds its lease, and the one worker slot is free for other work meanwhile.
    await asyncio.sleep(0.3)
    async with AsyncSession(h.engine) as session:
        row = await session.get(Operation, promotion.name.removeprefix("operations/"))
        assert row is not None and row.lease_owner == "parked" and not row.done
    other = await h.wait(
        (
            await h.stub.RunWorkflow(
                pb.RunWorkflowRequest(
                    service="services/checkout", workflow="deploy", version="1.2.4", environment="development"
                )
            )
        ).name,
        within=30,
    )
    assert other.done and not other.HasField("error"), (other.error, steps(other))

    with pytest.raises(grpc.aio.AioRpcError) as own:
        await h.stub.ApprovePromotion(
            pb.ApprovePromotionRequest(name=promotion.name, approver="alice", reason="mine")
        )
    assert own.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_details(own.value).reason == "SELF_APPROVAL"
    await h.stub.ApprovePromotion(
        pb.ApprovePromotionRequest(name=promotion.name, approver="bob", reason="ok")
    )
    done = await h.wait(promotion.name, within=60)
    assert not done.HasField("error"), (done.error, steps(done))
    assert steps(done)["gate_approval"].detail == "approved by bob: ok"

    # The promoted environment has its own default alerts and its own cost estimate.
    async def defaults(environment: str) -> list[str]:
        rules = await suite.alerting.ListAlertRules(
            alerting_pb2.ListAlertRulesRequest(
                filter=f'service = "checkout" AND environment = "{environment}"'
            )
        )
        return sorted(r.display_name for r in rules.alert_rules if r.default_rule)

    assert await defaults("production") == await defaults("staging")
    assert {"High Error Rate", "Service Down", "High Latency"} <= set(await defaults("production"))
    cost = await suite.cost.GetServiceCost(cost_pb2.GetServiceCostRequest(service="checkout"))
    estimates = {e.environment: e.estimated_monthly_cost.units for e in cost.environments}
    assert estimates == {"development": 100, "staging": 100, "production": 250}
    assert cost.estimated_monthly_cost.units == 450


async def test_a_promotion_failing_after_its_gates_records_a_failed_deployment(
    harness_factory: HarnessFactory, real_peers: RealPeers, grpc_channel_factory: Any, health_server: str
) -> None:
    h = await harness_factory(
        catalog_address=real_peers.address("catalog"),
        alerting_address=real_peers.address("alerting"),
        cost_address=real_peers.address("cost"),
        health_url=health_server,
        step_max_attempts=1,
    )
    suite = Suite(h, real_peers, grpc_channel_factory)
    await suite.in_staging()
    await suite.production(approval=False)
    failed = await h.wait((await suite.promote()).name, within=60)
    assert failed.HasField("error") and "run_smoke_tests" in failed.error.message, steps(failed)

    deployments = await h.stub.ListDeployments(
        pb.ListDeploymentsRequest(parent="services/checkout", filter='environment = "production"')
    )
    assert [(d.status, d.workflow, d.version) for d in deployments.deployments] == [
        (pb.DEPLOYMENT_STATUS_FAILED, "promotion", "1.2.3")
    ]
    metrics = await h.stub.GetDeliveryMetrics(
        pb.GetDeliveryMetricsRequest(team="payments", environment="production")
    )
    assert metrics.change_failure_rate == 1.0
    # The target is as it was: nothing of production is left in alerting or cost.
    rules = await suite.alerting.ListAlertRules(
        alerting_pb2.ListAlertRulesRequest(filter='service = "checkout" AND environment = "production"')
    )
    assert list(rules.alert_rules) == []
    cost = await suite.cost.GetServiceCost(cost_pb2.GetServiceCostRequest(service="checkout"))
    assert {e.environment for e in cost.environments} == {"development", "staging"}
    assert metadata(failed).environment == "production"
