"""Provisioning end to end over real gRPC, a real database and a real git repository."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
import yaml
from google.longrunning import operations_pb2
from google.rpc import error_details_pb2
from google.type import money_pb2
from grpc_status import rpc_status
from paved.catalog.v1 import catalog_pb2
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved_provisioning.gitops import OPERATION_TRAILER
from provisioning_harness import HarnessFactory, metadata
from provisioning_plans import plan

pytestmark = pytest.mark.timeout(90)


async def test_provision_commits_manifests_and_activates_the_service(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    op = await h.provision(request_id="req-1")
    assert op.name.startswith("operations/")
    assert not op.done

    op = await h.wait(op.name)
    assert op.done and not op.HasField("error"), op.error
    result = pb.ProvisionResult()
    op.response.Unpack(result)
    assert result.service == "services/orders"
    assert result.path == "services/payments/orders/production"
    assert "https://orders.example.com" in result.endpoints
    assert all(s.state == pb.STEP_STATE_SUCCEEDED and s.attempts == 1 for s in metadata(op).steps)

    # The commit holds parsed-valid manifests, a kustomization, Terraform JSON and docs.
    base = result.path
    assert h.repo.head() == result.commit
    files = h.repo.list_files(base)
    assert f"{base}/kustomization.yaml" in files
    kustomization = yaml.safe_load(h.repo.read_file(f"{base}/kustomization.yaml") or b"")
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == "production"
    for resource in kustomization["resources"]:
        assert f"{base}/{resource}" in files
    compute = list(yaml.safe_load_all(h.repo.read_file(f"{base}/k8s/compute.yaml") or b""))
    deployment = next(o for o in compute if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.0.0")
    assert deployment["spec"]["selector"]["matchLabels"]["track"] == "stable"
    terraform = json.loads(h.repo.read_file(f"{base}/terraform/main.tf.json") or b"")
    module = terraform["module"]["orders"]
    assert module["tags"]["cost_center"] == "cc-42" and module["tags"]["team"] == "payments"
    assert module["enable_encryption"] is True and module["enable_monitoring"] is True
    assert terraform["resource"]["aws_db_instance"]["orders"]["storage_encrypted"] is True
    docs = (h.repo.read_file(f"{base}/docs/index.md") or b"").decode()
    assert "https://orders.example.com" in docs and "Runbooks" in docs
    (sha, message), *_ = h.repo.log()
    assert f"{OPERATION_TRAILER}: {op.name.split('/')[1]}" in message

    # The other services were told, once each.
    service = h.peers.catalog.services["services/orders"]
    assert service.state == catalog_pb2.Service.STATE_ACTIVE
    assert "https://orders.example.com" in service.endpoints
    assert service.documentation_url.endswith("/payments/orders/production/")
    assert service.annotations["paved.dev/gitops-commit"] == sha
    assert service.plan == plan()  # as submitted (sent from the wire form the submission kept)
    assert h.peers.alerting.rules_created == 3
    assert h.peers.cost.tracked["orders"] == ["compute", "networking", "database", "observability"]

    quota = await h.stub.GetQuota(pb.GetQuotaRequest(team="payments"))
    assert (quota.used_services, quota.used_instances, quota.used_monthly_cost.units) == (1, 3, 100)

    deployments = await h.stub.ListDeployments(pb.ListDeploymentsRequest(parent="services/orders"))
    assert [(d.workflow, d.status, d.commit) for d in deployments.deployments] == [
        ("provision", pb.DEPLOYMENT_STATUS_SUCCEEDED, sha)
    ]


async def test_same_request_id_returns_the_same_operation(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    ops = await asyncio.gather(*(h.provision(request_id="same") for _ in range(5)))
    assert len({op.name for op in ops}) == 1
    await h.wait(ops[0].name)
    again = await h.provision(request_id="same")
    assert again.name == ops[0].name and again.done
    assert len(h.repo.log()) == 1
    assert h.peers.catalog.calls["CreateService"] == 1


async def test_a_request_id_reused_for_another_request_is_refused(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(worker=False)
    first = await h.provision(request_id="key-1")
    others = {
        "another plan": h.provision(service="payments-api", request_id="key-1"),
        "another cost": h.provision(request_id="key-1", cost=250.0),
        "another requester": h.stub.ProvisionService(
            pb.ProvisionServiceRequest(
                plan=plan("orders", "payments"),
                estimated_monthly_cost=money_pb2.Money(currency_code="USD", units=100),
                request_id="key-1",
                requester="mallory",
            )
        ),
        "another kind of operation": h.stub.RunWorkflow(
            pb.RunWorkflowRequest(
                service="services/orders",
                workflow="deploy",
                version="1.2.3",
                request_id="key-1",
                requester="alice",
            )
        ),
        "another kind of operation, again": h.stub.DeprovisionService(
            pb.DeprovisionServiceRequest(service="services/orders", request_id="key-1", requester="alice")
        ),
    }
    for label, call in others.items():
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS, label
        status = rpc_status.from_call(err.value)
        assert status is not None
        info = error_details_pb2.ErrorInfo()
        next(d for d in status.details if d.Is(info.DESCRIPTOR)).Unpack(info)
        assert info.reason == "REQUEST_ID_REUSED", label
        assert first.name not in err.value.details(), label
    # The retry of the first request still gets its operation, and nothing else was created.
    assert (await h.provision(request_id="key-1")).name == first.name
    listed = await h.ops.ListOperations(operations_pb2.ListOperationsRequest())
    assert [op.name for op in listed.operations] == [first.name]


async def test_bad_plan_names_every_field_and_changes_nothing(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(worker=False)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.provision(service="Not_A_Label", team="")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(err.value)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    next(d for d in status.details if d.Is(bad.DESCRIPTOR)).Unpack(bad)
    assert {v.field for v in bad.field_violations} == {"plan.service_name", "plan.team"}
    listed = await h.ops.ListOperations(operations_pb2.ListOperationsRequest())
    assert not listed.operations


async def test_quota_race_lets_exactly_one_through(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(worker=False)
    limit = money_pb2.Money(currency_code="USD", units=1000)
    await h.stub.UpdateQuota(
        pb.UpdateQuotaRequest(
            quota=pb.Quota(team="payments", max_services=1, max_instances=100, max_monthly_cost=limit)
        )
    )
    results = await asyncio.gather(
        *(h.provision(service=f"svc-{i}") for i in range(6)), return_exceptions=True
    )
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(ok) == 1 and len(refused) == 5
    for exc in refused:
        assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        status = rpc_status.from_call(exc)
        assert status is not None
        failure = error_details_pb2.QuotaFailure()
        next(d for d in status.details if d.Is(failure.DESCRIPTOR)).Unpack(failure)
        assert failure.violations[0].subject == "teams/payments/quotas/services"

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await h.stub.CheckQuota(pb.CheckQuotaRequest(team="payments", plan=plan("other")))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    quota = await h.stub.GetQuota(pb.GetQuotaRequest(team="payments"))
    assert quota.used_services == 1 and quota.overridden


async def test_alerts_cost_and_docs_steps_run_at_the_same_time(harness_factory: HarnessFactory) -> None:
    """They need only the commit before them, so a slow peer does not hold the others back."""
    h = await harness_factory()
    h.peers.faults.stall["CreateDefaultAlerts"] = 0.5
    h.peers.faults.stall["RegisterResources"] = 0.5
    op = await h.wait((await h.provision()).name)
    assert op.done and not op.HasField("error"), op.error
    by_name = {s.name: s for s in metadata(op).steps}
    alerts, cost, docs = by_name["create_alerts"], by_name["register_cost"], by_name["publish_docs"]
    assert all(s.state == pb.STEP_STATE_SUCCEEDED and s.attempts == 1 for s in (alerts, cost, docs))
    assert cost.start_time.ToDatetime() < alerts.end_time.ToDatetime()
    assert alerts.start_time.ToDatetime() < cost.end_time.ToDatetime()
    assert docs.start_time.ToDatetime() < alerts.end_time.ToDatetime()
    assert by_name["activate"].start_time.ToDatetime() >= max(
        alerts.end_time.ToDatetime(), cost.end_time.ToDatetime()
    )
