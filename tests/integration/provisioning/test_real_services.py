"""Provisioning against the REAL catalog, alerting and cost services: a plan rendered by the catalog from a
golden path is provisioned, deployed and deprovisioned, and each service shows the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import struct_pb2
from google.type import money_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.cost.v1 import cost_pb2, cost_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2 as pb
from provisioning_harness import HarnessFactory, steps
from provisioning_peers import RealPeers

pytestmark = [
    pytest.mark.timeout(120),
]


async def test_golden_path_rendered_provisioned_deployed_and_removed(
    harness_factory: HarnessFactory, real_peers: RealPeers, grpc_channel_factory: object
) -> None:
    h = await harness_factory(
        catalog_address=real_peers.address("catalog"),
        alerting_address=real_peers.address("alerting"),
        cost_address=real_peers.address("cost"),
    )
    catalog = catalog_pb2_grpc.CatalogServiceStub(grpc_channel_factory(real_peers.address("catalog")))  # type: ignore[operator]
    alerting = alerting_pb2_grpc.AlertingServiceStub(grpc_channel_factory(real_peers.address("alerting")))  # type: ignore[operator]
    cost = cost_pb2_grpc.CostServiceStub(grpc_channel_factory(real_peers.address("cost")))  # type: ignore[operator]

    parameters = struct_pb2.Struct()
    parameters.update({"service_name": "checkout", "team": "payments", "language": "python"})
    rendered = await catalog.RenderTemplate(
        catalog_pb2.RenderTemplateRequest(
            template="templates/web-service",
            parameters=parameters,
            context=catalog_pb2.RenderContext(
                service_name="checkout", team="payments", environment="staging"
            ),
        )
    )
    plan = rendered.plan
    op = await h.stub.ProvisionService(
        pb.ProvisionServiceRequest(
            plan=plan,
            estimated_monthly_cost=money_pb2.Money(currency_code="USD", units=420),
            request_id="real-1",
            requester="alice",
        )
    )
    op = await h.wait(op.name)
    assert not op.HasField("error"), (op.error, steps(op))

    service = await catalog.GetService(catalog_pb2.GetServiceRequest(name="services/checkout"))
    assert service.state == catalog_pb2.Service.STATE_ACTIVE
    assert service.endpoints and service.documentation_url
    rules = await alerting.ListAlertRules(alerting_pb2.ListAlertRulesRequest())
    assert len([r for r in rules.alert_rules if r.service == "checkout"]) == 4  # 3 + anomalies
    tracked = await cost.GetServiceCost(cost_pb2.GetServiceCostRequest(service="checkout"))
    assert tracked.service in ("checkout", "services/checkout")
    base = f"services/payments/checkout/{plan.environment}"
    assert f"{base}/kustomization.yaml" in h.repo.list_files(base)

    deploy = await h.stub.RunWorkflow(
        pb.RunWorkflowRequest(service="services/checkout", workflow="deploy", version="1.2.3")
    )
    deploy = await h.wait(deploy.name)
    assert not deploy.HasField("error"), (deploy.error, steps(deploy))
    assert steps(deploy)["validate_config"].state == pb.STEP_STATE_SUCCEEDED

    gone = await h.wait(
        (await h.stub.DeprovisionService(pb.DeprovisionServiceRequest(service="services/checkout"))).name
    )
    assert not gone.HasField("error"), (gone.error, steps(gone))
    rules = await alerting.ListAlertRules(alerting_pb2.ListAlertRulesRequest())
    assert not [r for r in rules.alert_rules if r.service == "checkout"]
    assert h.repo.list_files(base) == []


SOURCE_DESIGN = Path(__file__).resolve().parents[2] / "data" / "source_design" / "service-catalog.yaml"


async def test_the_source_design_template_makes_an_active_service_with_a_dynamodb_table(
    harness_factory: HarnessFactory, real_peers: RealPeers, grpc_channel_factory: object
) -> None:
    h = await harness_factory(
        catalog_address=real_peers.address("catalog"),
        alerting_address=real_peers.address("alerting"),
        cost_address=real_peers.address("cost"),
    )
    catalog = catalog_pb2_grpc.CatalogServiceStub(grpc_channel_factory(real_peers.address("catalog")))  # type: ignore[operator]
    # The design's document, verbatim, becomes the next revision of web-service.
    current = await catalog.GetTemplate(catalog_pb2.GetTemplateRequest(name="templates/web-service"))
    await catalog.UpdateTemplate(
        catalog_pb2.UpdateTemplateRequest(
            name="templates/web-service", document=SOURCE_DESIGN.read_text(), etag=current.etag
        )
    )
    parameters = struct_pb2.Struct()
    parameters.update(
        {"service_name": "profiles", "team": "payments", "languages": "rust", "database": "dynamodb"}
    )
    rendered = await catalog.RenderTemplate(
        catalog_pb2.RenderTemplateRequest(
            template="templates/web-service",
            parameters=parameters,
            context=catalog_pb2.RenderContext(
                service_name="profiles", team="payments", environment="staging"
            ),
        )
    )
    op = await h.stub.ProvisionService(
        pb.ProvisionServiceRequest(
            plan=rendered.plan,
            estimated_monthly_cost=money_pb2.Money(currency_code="USD", units=90),
            request_id="source-design-1",
            requester="alice",
        )
    )
    op = await h.wait(op.name)
    assert not op.HasField("error"), (op.error, steps(op))

    service = await catalog.GetService(catalog_pb2.GetServiceRequest(name="services/profiles"))
    assert service.state == catalog_pb2.Service.STATE_ACTIVE
    base = "services/payments/profiles/staging"
    files = h.repo.list_files(base)
    main = json.loads(h.repo.read_file(f"{base}/terraform/main.tf.json") or b"{}")
    assert main["module"]["database"]["source"] == "./modules/paved-dynamodb"
    assert f"{base}/terraform/modules/paved-dynamodb/main.tf" in files
    table = h.repo.read_file(f"{base}/terraform/modules/paved-dynamodb/main.tf")
    assert table is not None and b'resource "aws_dynamodb_table" "table"' in table
