"""deploy (canary, then promote) and rollback workflows, SKIPPED steps, instance type changes, deprovision."""

from __future__ import annotations

import sys

import grpc
import pytest
import yaml
from google.protobuf.timestamp_pb2 import Timestamp
from paved.catalog.v1 import catalog_pb2
from paved.provisioning.v1 import provisioning_pb2 as pb
from provisioning_harness import Harness, HarnessFactory, steps

pytestmark = pytest.mark.timeout(90)
BASE = "services/payments/orders/production"


async def provisioned(h: Harness) -> None:
    op = await h.wait((await h.provision()).name)
    assert not op.HasField("error"), op.error


def workload_image(h: Harness, commit: str | None = None) -> str:
    objects = yaml.safe_load_all(h.repo.read_file(f"{BASE}/k8s/compute.yaml", commit=commit) or b"")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


async def deploy(h: Harness, version: str) -> pb.WorkflowResult:
    op = await h.stub.RunWorkflow(
        pb.RunWorkflowRequest(service="services/orders", workflow="deploy", version=version, requester="bob")
    )
    op = await h.wait(op.name)
    assert not op.HasField("error"), op.error
    result = pb.WorkflowResult()
    op.response.Unpack(result)
    return result


async def test_deploy_commits_a_canary_then_promotes(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    await provisioned(h)
    op = await h.stub.RunWorkflow(
        pb.RunWorkflowRequest(service="services/orders", workflow="deploy", version="1.1.0", requester="bob")
    )
    op = await h.wait(op.name)
    assert not op.HasField("error"), op.error
    by_name = steps(op)
    assert list(by_name) == [
        "validate_config",
        "run_tests",
        "build_image",
        "deploy_canary",
        "run_smoke_tests",
        "promote_production",
    ]
    assert by_name["validate_config"].state == pb.STEP_STATE_SUCCEEDED
    # Nothing configured for CI or health: SKIPPED with the reason, never a fake success.
    for name in ("run_tests", "build_image", "run_smoke_tests"):
        assert by_name[name].state == pb.STEP_STATE_SKIPPED
        assert "configured" in by_name[name].detail

    log = h.repo.log()
    assert len(log) == 3
    canary_sha = log[1][0]
    assert "Canary" in log[1][1] and "Promote" in log[0][1]
    canary = list(yaml.safe_load_all(h.repo.read_file(f"{BASE}/k8s/canary.yaml", commit=canary_sha) or b""))
    assert [c["metadata"]["name"] for c in canary] == ["orders-canary"]
    assert canary[0]["spec"]["replicas"] == 1
    assert canary[0]["spec"]["template"]["metadata"]["labels"]["track"] == "canary"
    assert canary[0]["spec"]["template"]["spec"]["containers"][0]["image"].endswith("orders:1.1.0")
    assert workload_image(h, canary_sha).endswith(":1.0.0")
    kustomization = yaml.safe_load(h.repo.read_file(f"{BASE}/kustomization.yaml", commit=canary_sha) or b"")
    assert "k8s/canary.yaml" in kustomization["resources"]

    # Promoted: the stable workload runs the new image and the canary is gone.
    assert workload_image(h).endswith(":1.1.0")
    assert f"{BASE}/k8s/canary.yaml" not in h.repo.list_files(BASE)
    history = await h.stub.ListDeployments(pb.ListDeploymentsRequest(parent="services/orders"))
    assert [(d.workflow, d.version, d.status) for d in history.deployments] == [
        ("deploy", "1.1.0", pb.DEPLOYMENT_STATUS_SUCCEEDED),
        ("provision", "1.0.0", pb.DEPLOYMENT_STATUS_SUCCEEDED),
    ]
    assert history.deployments[0].requester == "bob"
    assert history.deployments[0].commit == log[0][0]


async def test_rollback_returns_to_the_previous_successful_version(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    await provisioned(h)
    await deploy(h, "1.1.0")
    await deploy(h, "1.2.0")
    assert workload_image(h).endswith(":1.2.0")
    op = await h.stub.RunWorkflow(pb.RunWorkflowRequest(service="services/orders", workflow="rollback"))
    op = await h.wait(op.name)
    assert not op.HasField("error"), op.error
    assert steps(op)["verify_health"].state == pb.STEP_STATE_SKIPPED
    assert workload_image(h).endswith(":1.1.0")
    history = await h.stub.ListDeployments(pb.ListDeploymentsRequest(parent="services/orders"))
    assert [(d.workflow, d.version, d.status) for d in history.deployments] == [
        ("rollback", "1.1.0", pb.DEPLOYMENT_STATUS_SUCCEEDED),
        ("deploy", "1.2.0", pb.DEPLOYMENT_STATUS_ROLLED_BACK),
        ("deploy", "1.1.0", pb.DEPLOYMENT_STATUS_SUCCEEDED),
        ("provision", "1.0.0", pb.DEPLOYMENT_STATUS_SUCCEEDED),
    ]
    window_start = Timestamp()
    window_start.GetCurrentTime()
    window_start.seconds -= 3600
    metrics = await h.stub.GetDeliveryMetrics(
        pb.GetDeliveryMetricsRequest(team="payments", start_time=window_start)
    )
    assert (metrics.deployments, metrics.failed_deployments, metrics.services_created) == (4, 1, 1)
    assert metrics.change_failure_rate == pytest.approx(0.25)
    assert metrics.deployment_frequency_band == pb.PERFORMANCE_BAND_ELITE
    assert metrics.lead_time_band == pb.PERFORMANCE_BAND_ELITE
    assert metrics.time_to_recovery_band == pb.PERFORMANCE_BAND_ELITE
    other = await h.stub.GetDeliveryMetrics(pb.GetDeliveryMetricsRequest(team="nobody"))
    assert other.deployments == 0 and other.lead_time_band == pb.PERFORMANCE_BAND_UNSPECIFIED
    # Per environment: orders runs in production only, so production's metrics are all of them.
    production = await h.stub.GetDeliveryMetrics(
        pb.GetDeliveryMetricsRequest(team="payments", start_time=window_start, environment="production")
    )
    staging = await h.stub.GetDeliveryMetrics(
        pb.GetDeliveryMetricsRequest(team="payments", start_time=window_start, environment="staging")
    )
    assert (production.deployments, production.failed_deployments) == (4, 1)
    assert staging.deployments == 0 and staging.change_failure_rate_band == pb.PERFORMANCE_BAND_UNSPECIFIED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await h.stub.GetDeliveryMetrics(pb.GetDeliveryMetricsRequest(environment="Not An Env"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_rollback_without_an_earlier_version_fails_clearly(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    await provisioned(h)
    op = await h.wait(
        (await h.stub.RunWorkflow(pb.RunWorkflowRequest(service="services/orders", workflow="rollback"))).name
    )
    assert "no earlier successful deployment" in op.error.message
    assert len(h.repo.log()) == 1


async def test_configured_executors_run_instead_of_skipping(harness_factory: HarnessFactory) -> None:
    check_version = "import os, sys; sys.exit(os.environ['PAVED_VERSION'] != '2.0.0')"
    h = await harness_factory(
        ci_command=f'{sys.executable} -c "{check_version}"',
        health_via_alerting=True,
    )
    await provisioned(h)
    h.peers.alerting.health["orders"] = 1  # HEALTH_STATUS_HEALTHY
    op = await h.wait(
        (
            await h.stub.RunWorkflow(
                pb.RunWorkflowRequest(service="services/orders", workflow="deploy", version="2.0.0")
            )
        ).name
    )
    assert not op.HasField("error"), op.error
    by_name = steps(op)
    for name in ("run_tests", "build_image", "run_smoke_tests"):
        assert by_name[name].state == pb.STEP_STATE_SUCCEEDED, by_name[name]
    # A failing CI command fails the deploy and the canary is withdrawn.
    op = await h.wait(
        (
            await h.stub.RunWorkflow(
                pb.RunWorkflowRequest(service="services/orders", workflow="deploy", version="3.0.0")
            )
        ).name
    )
    assert "run_tests" in op.error.message
    assert workload_image(h).endswith(":2.0.0")


async def test_update_instance_type_rerenders_and_commits(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    await provisioned(h)
    op = await h.stub.UpdateInstanceType(
        pb.UpdateInstanceTypeRequest(service="services/orders", resource="compute", instance_type="c5.xlarge")
    )
    op = await h.wait(op.name)
    assert not op.HasField("error"), op.error
    objects = yaml.safe_load_all(h.repo.read_file(f"{BASE}/k8s/compute.yaml") or b"")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert (
        deployment["spec"]["template"]["spec"]["nodeSelector"]["node.kubernetes.io/instance-type"]
        == "c5.xlarge"
    )
    catalog_plan = h.peers.catalog.services["services/orders"].plan
    compute = next(r for r in catalog_plan.resources if r.name == "compute")
    assert compute.properties["instance_type"] == "c5.xlarge"
    history = await h.stub.ListDeployments(pb.ListDeploymentsRequest(parent="services/orders"))
    assert history.deployments[0].workflow == "update_instance_type"


async def test_deprovision_removes_everything(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    await provisioned(h)
    op = await h.wait(
        (await h.stub.DeprovisionService(pb.DeprovisionServiceRequest(service="services/orders"))).name
    )
    assert not op.HasField("error"), op.error
    assert h.repo.list_files(BASE) == []
    assert "orders" not in h.peers.alerting.rules and "orders" not in h.peers.cost.tracked
    assert h.peers.catalog.services["services/orders"].state == catalog_pb2.Service.STATE_DELETED
    quota = await h.stub.GetQuota(pb.GetQuotaRequest(team="payments"))
    assert quota.used_services == 0
