"""The closed loop against the REAL catalog, alerting and cost: a resource optimization goes out as a canary,
bakes while alerting's signals are watched, and is promoted; the same with an error-rate regression injected
during the bake is rolled back automatically, with the regression as the recorded reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2 as pb
from provisioning_harness import HarnessFactory, committed_document, steps
from provisioning_peers import RealPeers, provision_checkout

pytestmark = [
    pytest.mark.timeout(180),
]
BASE = "services/payments/checkout/staging"


async def signals(alerting: Any, error_rate: float, latency: float = 120.0) -> None:
    now = timestamp_pb2.Timestamp(seconds=int(time.time()))
    samples = [
        # The bake reads the signals of the operation's environment (the service runs in staging).
        alerting_pb2.MetricSample(
            service="checkout", environment="staging", metric=metric, value=value, time=now
        )
        for metric, value in (("error_rate", error_rate), ("latency_p99", latency), ("up", 1.0))
    ]

    async def stream() -> AsyncIterator[alerting_pb2.IngestSamplesRequest]:
        yield alerting_pb2.IngestSamplesRequest(samples=samples)

    await alerting.IngestSamples(stream())


def deployment(h: Any, name: str = "checkout") -> dict[str, Any]:
    return committed_document(h, BASE, "Deployment", name)


def container_resources(h: Any, name: str = "checkout") -> dict[str, Any]:
    return dict(deployment(h, name)["spec"]["template"]["spec"]["containers"][0]["resources"])


async def test_canary_bakes_then_promotes_and_a_regression_rolls_back(
    harness_factory: HarnessFactory, real_peers: RealPeers, grpc_channel_factory: Any
) -> None:
    h = await harness_factory(
        catalog_address=real_peers.address("catalog"),
        alerting_address=real_peers.address("alerting"),
        cost_address=real_peers.address("cost"),
        optimization_bake_poll_seconds=0.2,
    )
    catalog = catalog_pb2_grpc.CatalogServiceStub(grpc_channel_factory(real_peers.address("catalog")))
    alerting = alerting_pb2_grpc.AlertingServiceStub(grpc_channel_factory(real_peers.address("alerting")))
    provisioned = await provision_checkout(h, catalog, "opt-provision")
    assert not provisioned.HasField("error"), provisioned.error
    assert container_resources(h)["requests"] == {"cpu": "250m", "memory": "256Mi"}
    await signals(alerting, error_rate=0.001)

    # 1. A healthy bake: canary committed, signals watched for 2 s, promoted.
    healthy = await h.wait(
        (
            await h.stub.OptimizeResources(
                pb.OptimizeResourcesRequest(
                    service="services/checkout",
                    resource="compute",
                    cpu_request="125m",
                    memory_request="230Mi",
                    bake_time=duration_pb2.Duration(seconds=2),
                    reason="p90 CPU 21m over 8 days",
                    request_id="opt-1",
                    requester="paved-cost",
                )
            )
        ).name
    )
    assert not healthy.HasField("error"), (healthy.error, steps(healthy))
    done = steps(healthy)
    assert [done[s].state for s in ("deploy_canary", "bake", "promote")] == [pb.STEP_STATE_SUCCEEDED] * 3
    assert "no regression" in done["bake"].detail
    assert container_resources(h)["requests"] == {"cpu": "125m", "memory": "230Mi"}
    assert container_resources(h)["limits"] == {"cpu": "1", "memory": "512Mi"}  # unchanged
    log = [message for _, message in h.repo.log(limit=10)]
    assert any(m.startswith("Canary checkout with new resources") for m in log)
    assert any(m.startswith("Optimize checkout resources") for m in log)
    service = await catalog.GetService(catalog_pb2.GetServiceRequest(name="services/checkout"))
    assert "125m" in str(service.plan)

    # 2. A regression while baking: the error rate jumps after the canary goes out.
    started = await h.stub.OptimizeResources(
        pb.OptimizeResourcesRequest(
            service="services/checkout",
            resource="compute",
            cpu_request="60m",
            bake_time=duration_pb2.Duration(seconds=60),
            request_id="opt-2",
            requester="paved-cost",
        )
    )
    deadline = time.monotonic() + 30
    while len([m for _, m in h.repo.log(limit=10) if m.startswith("Canary checkout")]) < 2:
        assert time.monotonic() < deadline, "the second canary was never committed"
        await asyncio.sleep(0.1)
    assert deployment(h, "checkout-canary")["spec"]["replicas"] == 1
    begun = time.monotonic()
    await signals(alerting, error_rate=0.2)
    failed = await h.wait(started.name, within=60)
    assert time.monotonic() - begun < 60  # within the bake time
    assert failed.HasField("error") and "rolled back: error rate 20.00%" in failed.error.message, failed.error
    assert steps(failed)["bake"].state == pb.STEP_STATE_FAILED
    assert steps(failed)["promote"].state != pb.STEP_STATE_SUCCEEDED
    # The compensation restored the manifests the service ran before: no canary, the promoted 125m.
    assert container_resources(h)["requests"]["cpu"] == "125m"
    with pytest.raises(AssertionError):
        deployment(h, "checkout-canary")
    assert any(m.startswith("Roll back checkout resources") for _, m in h.repo.log(limit=5))
