"""Recommendations with savings, AutoOptimize dry run and apply against a real provisioning gRPC server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from cost_test_rows import day_row, stream  # type: ignore[import-not-found]
from google.longrunning import operations_pb2
from google.protobuf import struct_pb2
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from paved_cost.money import from_money
from paved_kit.grpc_errors import error_details

NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)


class Provisioning(provisioning_pb2_grpc.ProvisioningServiceServicer):
    """A real gRPC server implementing provisioning's UpdateInstanceType contract."""

    def __init__(self) -> None:
        self.requests: list[provisioning_pb2.UpdateInstanceTypeRequest] = []

    async def UpdateInstanceType(self, request: Any, context: Any) -> operations_pb2.Operation:
        self.requests.append(request)
        return operations_pb2.Operation(name=f"operations/op-{len(self.requests)}")


def compute(instance_type: str, **extra: object) -> common_pb2.Resource:
    properties = struct_pb2.Struct()
    properties.update({"instance_type": instance_type, "min_instances": 3, "max_instances": 10, **extra})
    return common_pb2.Resource(name="compute", type="compute", properties=properties)


def samples(
    service: str, cpu: float, memory: float, count: int = 24
) -> Iterator[cost_pb2.RecordUtilizationRequest]:
    batch = []
    for i in range(count):
        for metric, value in (("cpu", cpu), ("memory", memory)):
            sample = cost_pb2.UtilizationSample(
                service=service, resource="compute", metric=metric, value=value
            )
            sample.time.FromDatetime(NOW - timedelta(hours=6 * (i + 1)))
            batch.append(sample)
    yield cost_pb2.RecordUtilizationRequest(samples=batch)


async def setup(harness: Any) -> None:
    stub = harness.stub
    # Registered seven months ago; utilization counts only from a resource's last change.
    harness.clock.now = NOW - timedelta(days=210)
    await stub.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="checkout", team="payments", environment="production", resources=[compute("c5.2xlarge")]
        )
    )
    await stub.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="ledger",
            team="payments",
            environment="production",
            resources=[compute("m5.xlarge", critical=True)],
        )
    )
    harness.clock.now = NOW
    assert (await stub.RecordUtilization(samples("checkout", 0.15, 0.10))).accepted == 48
    await stub.RecordUtilization(samples("ledger", 0.25, 0.20))
    # Six complete months of steady cost for checkout (within ±5% of $1000).
    rows = []
    for month, amount in zip(range(4, 10), (1000, 1040, 980, 1010, 995, 1020), strict=True):
        rows.append(day_row("checkout", "payments", date(2024, month, 10), Decimal(amount)))
    await stub.ImportBilling(stream(rows, source="history"))


def by_kind(response: cost_pb2.ListRecommendationsResponse) -> dict[tuple[str, int], cost_pb2.Recommendation]:
    return {(r.service, r.kind): r for r in response.recommendations}


async def test_each_recommendation_kind_with_its_savings(cost) -> None:
    await setup(cost)
    found = by_kind(await cost.stub.ListRecommendations(cost_pb2.ListRecommendationsRequest()))
    rightsize = found[("checkout", cost_pb2.RECOMMENDATION_KIND_RIGHTSIZE)]
    assert rightsize.recommended_instance_type == "c5.xlarge"
    assert from_money(rightsize.monthly_savings) == (Decimal("0.34") - Decimal("0.17")) * 730 * 3
    assert rightsize.risk == cost_pb2.RISK_LOW
    assert rightsize.evidence["avg_cpu"] == pytest.approx(0.15)
    assert rightsize.evidence["samples"] == 24
    spot = found[("checkout", cost_pb2.RECOMMENDATION_KIND_SPOT)]
    assert from_money(spot.monthly_savings) == Decimal("0.34") * 730 * 3 * Decimal("0.6")
    reserved = found[("checkout", cost_pb2.RECOMMENDATION_KIND_RESERVED)]
    assert from_money(reserved.monthly_savings) == Decimal("0.34") * 730 * 3 * Decimal("0.36")
    assert list(reserved.evidence["months"]) == [
        "2024-04",
        "2024-05",
        "2024-06",
        "2024-07",
        "2024-08",
        "2024-09",
    ]
    # ledger: critical (no spot), 25% busy (rightsize, but not low-risk), no cost history (no reserved).
    ledger = found[("ledger", cost_pb2.RECOMMENDATION_KIND_RIGHTSIZE)]
    assert ledger.recommended_instance_type == "m5.large" and ledger.risk == cost_pb2.RISK_MEDIUM
    assert ("ledger", cost_pb2.RECOMMENDATION_KIND_SPOT) not in found
    assert ("ledger", cost_pb2.RECOMMENDATION_KIND_RESERVED) not in found
    filtered = await cost.stub.ListRecommendations(
        cost_pb2.ListRecommendationsRequest(filter='service = "checkout" AND kind = SPOT')
    )
    assert [r.kind for r in filtered.recommendations] == [cost_pb2.RECOMMENDATION_KIND_SPOT]


async def test_thresholds_are_configurable(start_cost) -> None:
    harness = await start_cost(
        recommendations={"rightsize_max_utilization": 0.1, "auto_optimize_max_utilization": 0.05}
    )
    await setup(harness)
    found = by_kind(await harness.stub.ListRecommendations(cost_pb2.ListRecommendationsRequest()))
    assert ("checkout", cost_pb2.RECOMMENDATION_KIND_RIGHTSIZE) not in found


async def test_recommendations_page(cost) -> None:
    await setup(cost)
    first = await cost.stub.ListRecommendations(cost_pb2.ListRecommendationsRequest(page_size=2))
    assert len(first.recommendations) == 2 and first.next_page_token
    rest = await cost.stub.ListRecommendations(
        cost_pb2.ListRecommendationsRequest(page_size=2, page_token=first.next_page_token)
    )
    names = [r.name for r in first.recommendations] + [r.name for r in rest.recommendations]
    assert len(set(names)) == len(names) == 4
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.ListRecommendations(cost_pb2.ListRecommendationsRequest(filter="colour = red"))
    assert error_details(caught.value).field_violations[0].field == "filter"


async def test_auto_optimize_without_provisioning_only_dry_runs(cost) -> None:
    await setup(cost)
    dry = await cost.stub.AutoOptimize(cost_pb2.AutoOptimizeRequest(dry_run=True))
    assert [(a.recommendation.service, a.applied) for a in dry.actions] == [("checkout", False)]
    assert from_money(dry.total_monthly_savings) == Decimal("0.17") * 730 * 3
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.AutoOptimize(cost_pb2.AutoOptimizeRequest(dry_run=False))
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.FAILED_PRECONDITION
    assert details.precondition_violations[0].subject == "PAVED_COST_PROVISIONING_ADDRESS"


async def test_auto_optimize_applies_through_provisioning(start_cost, grpc_server_factory) -> None:
    provisioning = Provisioning()
    server = await grpc_server_factory(
        (
            provisioning_pb2_grpc.add_ProvisioningServiceServicer_to_server,
            provisioning,
            "paved.provisioning.v1.ProvisioningService",
        ),
        name="provisioning",
    )
    harness = await start_cost(provisioning_address=server.address)
    await setup(harness)
    applied = await harness.stub.AutoOptimize(cost_pb2.AutoOptimizeRequest(dry_run=False))
    assert [(a.applied, a.operation) for a in applied.actions] == [(True, "operations/op-1")]
    [request] = provisioning.requests
    assert (request.service, request.resource, request.instance_type) == (
        "services/checkout",
        "compute",
        "c5.xlarge",
    )
    assert request.request_id
    # The resource is now tracked at its new size; old utilization no longer argues for another resize.
    after = by_kind(await harness.stub.ListRecommendations(cost_pb2.ListRecommendationsRequest()))
    assert ("checkout", cost_pb2.RECOMMENDATION_KIND_RIGHTSIZE) not in after
    assert after[("checkout", cost_pb2.RECOMMENDATION_KIND_SPOT)].current_instance_type == "c5.xlarge"
    # Realised savings come from actuals, not the estimate: without a full day after the change, none yet.
    roi = await harness.stub.GetPlatformRoi(cost_pb2.GetPlatformRoiRequest(deployments=10))
    assert from_money(roi.realized_savings) == 0
    # $30 a day for the five days before the change (Oct 10-14), $20 a day for the five after (Oct 16-20);
    # the change's own day is not compared. (30 - 20) x 365 / 12 = $304.17 a month.
    rows = [day_row("checkout", "payments", date(2024, 10, d), Decimal(30)) for d in range(10, 15)]
    rows.append(day_row("checkout", "payments", date(2024, 10, 15), Decimal(25)))
    rows += [day_row("checkout", "payments", date(2024, 10, d), Decimal(20)) for d in range(16, 21)]
    await harness.stub.ImportBilling(stream(rows, source="after-the-change"))
    harness.clock.now = datetime(2024, 10, 21, 12, 0, tzinfo=UTC)
    roi = await harness.stub.GetPlatformRoi(cost_pb2.GetPlatformRoiRequest(deployments=10))
    assert from_money(roi.realized_savings) == Decimal("304.17")


async def test_platform_roi_returns_every_term(cost) -> None:
    request = cost_pb2.GetPlatformRoiRequest(deployments=400, services_created=20, incidents_avoided=2)
    request.start_time.FromDatetime(datetime(2024, 1, 1, tzinfo=UTC))
    request.end_time.FromDatetime(datetime(2025, 1, 1, tzinfo=UTC))  # 366 days
    roi = await cost.stub.GetPlatformRoi(request)
    benefits = {t.name: from_money(t.value) for t in roi.benefits}
    assert benefits == {
        "deployment_time_saved": Decimal(400 * 2 * 150),
        "service_creation_time_saved": Decimal(20 * 8 * 150),
        "incidents_avoided": Decimal(200_000),
    }
    costs = {t.name: from_money(t.value) for t in roi.costs}
    share = Decimal(366) / Decimal(365)
    assert costs["platform_team"] == (Decimal(1_000_000) * share).quantize(Decimal("0.000000001"))
    assert costs["platform_infrastructure"] == (Decimal(500_000) * share).quantize(Decimal("0.000000001"))
    benefit, total = sum(benefits.values()), sum(costs.values())
    assert roi.roi_percent == pytest.approx(float((benefit - total) / total * 100), rel=1e-6)
    assert all(t.formula for t in [*roi.benefits, *roi.costs])
