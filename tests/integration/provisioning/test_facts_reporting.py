"""Provisioning reports scorecard facts to the REAL catalog when operations end, and a catalog that is away
never fails an operation."""

from __future__ import annotations

import pytest
from google.protobuf import struct_pb2
from google.type import money_pb2
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2 as pb
from provisioning_harness import HarnessFactory, steps
from provisioning_peers import RealPeers

pytestmark = [
    pytest.mark.timeout(120),
]


def _checks(card: catalog_pb2.Scorecard) -> dict[str, bool]:
    return {c.id: c.passed for c in card.checks}


async def test_provision_and_deploy_flip_scorecard_checks(
    harness_factory: HarnessFactory, real_peers: RealPeers, grpc_channel_factory: object
) -> None:
    h = await harness_factory(
        catalog_address=real_peers.address("catalog"),
        alerting_address=real_peers.address("alerting"),
        cost_address=real_peers.address("cost"),
    )
    catalog = catalog_pb2_grpc.CatalogServiceStub(grpc_channel_factory(real_peers.address("catalog")))  # type: ignore[operator]
    parameters = struct_pb2.Struct()
    parameters.update({"service_name": "ledger", "team": "payments", "language": "python"})
    rendered = await catalog.RenderTemplate(
        catalog_pb2.RenderTemplateRequest(
            template="templates/web-service",
            parameters=parameters,
            context=catalog_pb2.RenderContext(service_name="ledger", team="payments", environment="staging"),
        )
    )
    op = await h.wait(
        (
            await h.stub.ProvisionService(
                pb.ProvisionServiceRequest(
                    plan=rendered.plan,
                    estimated_monthly_cost=money_pb2.Money(currency_code="USD", units=100),
                    request_id="facts-1",
                    requester="alice",
                )
            )
        ).name
    )
    assert not op.HasField("error"), (op.error, steps(op))

    card = await catalog.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/ledger"))
    checks = _checks(card)
    # Reported by provisioning: the GitOps commit and the deploy time.
    assert checks["gitops_managed"] is True
    assert checks["deployed_recently"] is True
    assert checks["provisioned"] is True and checks["has_documentation"] is True
    evidence = {c.id: c.evidence for c in card.checks}
    commit = steps(op)["gitops_commit"].detail.split()[1]
    assert commit[:12] in evidence["gitops_managed"]

    # A failed deploy does not refresh the deploy time but is reported as a failure.
    before = evidence["deployed_recently"]
    deploy = await h.wait(
        (await h.stub.RunWorkflow(pb.RunWorkflowRequest(service="services/ledger", workflow="rollback"))).name
    )
    assert deploy.HasField("error")  # nothing earlier to roll back to
    card = await catalog.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/ledger"))
    assert {c.id: c.evidence for c in card.checks}["deployed_recently"] == before


async def test_operation_succeeds_when_catalog_facts_fail(harness_factory: HarnessFactory) -> None:
    # The fake peers do not implement ReportServiceFacts: the report fails, the operation does not.
    h = await harness_factory(worker=True)
    op = await h.wait((await h.provision("inventory")).name)
    assert not op.HasField("error"), (op.error, steps(op))
