"""Predictive scaling acting, against the REAL catalog, alerting and cost: alerting's actuator leaves a
shadow schedule alone and sends an active one to provisioning as a scale-out-only resource change, which
raises the HPA's minimum replicas through the canaried GitOps workflow, capped at the plan's maximum; one
that would not raise it (or that changes anything else) is refused and changes nothing."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from paved.catalog.v1 import catalog_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved_alerting.clock import SystemClock
from paved_alerting.forecasting import Schedule
from paved_alerting.scaling_actuator import ScalingActuator
from paved_alerting.settings import AlertingSettings
from provisioning_harness import Harness, HarnessFactory, committed_document
from provisioning_peers import RealPeers, provision_checkout

pytestmark = [
    pytest.mark.timeout(180),
]
BASE = "services/payments/checkout/staging"


def autoscaler(h: Harness) -> dict[str, Any]:
    return dict(committed_document(h, BASE, "HorizontalPodAutoscaler")["spec"])


def scale_out(min_replicas: int, request_id: str, **extra: Any) -> pb.OptimizeResourcesRequest:
    return pb.OptimizeResourcesRequest(
        service="services/checkout",
        min_replicas=min_replicas,
        scale_out_only=True,
        bake_time=duration_pb2.Duration(seconds=1),
        reason="predictive scaling",
        request_id=request_id,
        requester="paved-alerting",
        **extra,
    )


def schedule(mode: str, counts: list[int]) -> Schedule:
    hours = [(3600 * i, count, 100.0 * count) for i, count in enumerate(counts)]
    return Schedule(mode, f"{mode} for the test", 100.0, "requested", hours, [])


def said(error: grpc.aio.AioRpcError) -> str:
    return f"{error.details()} {error.trailing_metadata()}"


async def test_scale_out_only_raises_the_minimum_within_the_maximum_and_never_lowers_it(
    harness_factory: HarnessFactory, real_peers: RealPeers, grpc_channel_factory: Any, database_url: str
) -> None:
    h = await harness_factory(
        catalog_address=real_peers.address("catalog"),
        alerting_address=real_peers.address("alerting"),
        cost_address=real_peers.address("cost"),
        optimization_bake_seconds=1.0,
        optimization_bake_poll_seconds=0.2,
    )
    catalog = catalog_pb2_grpc.CatalogServiceStub(grpc_channel_factory(real_peers.address("catalog")))
    provisioned = await provision_checkout(h, catalog, "scale-provision")
    assert not provisioned.HasField("error"), provisioned.error
    before = autoscaler(h)
    low, high = int(before["minReplicas"]), int(before["maxReplicas"])
    assert low < high, before

    for bad, field in (
        (scale_out(high, "bad-1", cpu_request="1"), "cpu_request"),
        (scale_out(0, "bad-2"), "min"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await h.stub.OptimizeResources(bad)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in said(refused.value)
    with pytest.raises(grpc.aio.AioRpcError) as same:
        await h.stub.OptimizeResources(scale_out(low, "same"))
    assert same.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert autoscaler(h) == before

    actuator = ScalingActuator(
        AlertingSettings(database_url=database_url, port=0, provisioning_address=h.server.address),
        SystemClock(),
    )
    try:
        # A schedule in shadow mode changes nothing, however many replicas it asks for.
        shadow = schedule("shadow", [high + 50, high + 50])
        assert (await actuator.apply("checkout", shadow)).outcome == "shadow"
        assert autoscaler(h) == before
        # Active, and far more than the maximum asked in the next hour: the minimum goes to the maximum,
        # through a GitOps commit.
        acted = await actuator.apply("checkout", schedule("active", [low, high + 50, low]))
        assert (acted.outcome, acted.min_replicas) == ("raised", high + 50), acted
        raised = await h.wait(acted.operation)
        assert not raised.HasField("error"), raised.error
        assert (autoscaler(h)["minReplicas"], autoscaler(h)["maxReplicas"]) == (high, high)
        assert any(m.startswith("Optimize checkout resources") for _, m in h.repo.log(limit=10))
        # Never lowered: a later, smaller schedule leaves it where it is.
        later = await actuator.apply("checkout", schedule("active", [low, low]))
        assert later.outcome == "unchanged", later
    finally:
        await actuator.close()
    with pytest.raises(grpc.aio.AioRpcError) as lower:
        await h.stub.OptimizeResources(scale_out(low, "lower"))
    assert lower.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"does not raise the current minimum {high}" in said(lower.value)
    assert autoscaler(h)["minReplicas"] == high
