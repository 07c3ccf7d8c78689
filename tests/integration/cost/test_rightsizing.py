"""Rightsizing end to end over real gRPC: usage backfilled into alerting (the history's owner), cost asking
alerting for it, the recommendation with its evidence and its saving."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf import struct_pb2, timestamp_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved_alerting.app import build_app as build_alerting
from paved_alerting.clock import ManualClock
from paved_alerting.settings import AlertingSettings
from paved_kit.db import create_engine
from paved_kit.testing import GrpcChannelFactory, GrpcServerFactory

NOW = datetime(2024, 10, 15, 12, 0, tzinfo=UTC)  # the cost fixture's clock
MIB = 1024**2


@pytest_asyncio.fixture
async def alerting(
    tmp_path: Path, grpc_server_factory: GrpcServerFactory, grpc_channel_factory: GrpcChannelFactory
) -> AsyncIterator[tuple[str, alerting_pb2_grpc.AlertingServiceStub]]:
    settings = AlertingSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'alerting.db'}", port=0, evaluation_interval_seconds=0
    )
    engine = create_engine(settings.database_url)
    app = await build_alerting(settings, engine, ManualClock(NOW.timestamp()))
    server = await grpc_server_factory(app.register, name="alerting")
    yield f"127.0.0.1:{server.port}", alerting_pb2_grpc.AlertingServiceStub(grpc_channel_factory(server))
    await app.close()
    await engine.dispose()


def compute(**properties: object) -> common_pb2.Resource:
    struct = struct_pb2.Struct()
    struct.update(
        {
            "instance_type": "m5.xlarge",
            "replicas": 3,
            "min_instances": 3,
            "max_instances": 10,
            "cpu_request": "1",
            "cpu_limit": "2",
            "memory_request": "2Gi",
            "memory_limit": "2Gi",
            "region": "us-east-1",
            **properties,
        }
    )
    return common_pb2.Resource(name="compute", type="compute", properties=struct)


def usage(days: int, cpu: float, memory: float) -> Iterator[alerting_pb2.IngestSamplesRequest]:
    """One sample a minute per metric for ``days`` up to NOW: 10 % of a core, a quarter of 2 GiB."""
    end = int(NOW.timestamp())
    batch = []
    for t in range(end - days * 86400, end, 60):
        for metric, value in (("cpu_usage", cpu), ("memory_working_set", memory)):
            batch.append(
                alerting_pb2.MetricSample(
                    service="checkout",
                    metric=metric,
                    value=value * (1.1 if (t // 3600) % 24 in (12, 13) else 1.0),  # a midday busy hour
                    time=timestamp_pb2.Timestamp(seconds=t),
                    environment="production",
                )
            )
        if len(batch) >= 2000:
            yield alerting_pb2.IngestSamplesRequest(samples=batch)
            batch = []
    if batch:
        yield alerting_pb2.IngestSamplesRequest(samples=batch)


async def test_a_service_at_ten_percent_gets_a_safe_smaller_size(start_cost: Any, alerting: Any) -> None:
    address, alerting_stub = alerting
    ingested = await alerting_stub.IngestSamples(usage(10, 0.1, 512 * MIB))
    assert ingested.rejected == 0 and ingested.history_skipped == 0
    cost = await start_cost(alerting_address=address)
    await cost.stub.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="checkout", team="payments", environment="production", resources=[compute()]
        )
    )

    found = await cost.stub.RecommendResources(
        cost_pb2.RecommendResourcesRequest(service="services/checkout", environment="production")
    )

    assert (found.service, found.team, found.resource, found.history_source) == (
        "checkout",
        "payments",
        "compute",
        "embedded",
    )
    assert found.changes and found.decrease_allowed and found.confidence == pytest.approx(8, abs=0.01)
    # CPU: p90 is the quiet 0.1 cores (busy 2 h of 24 are the top 8 %), + 15 % is VPA's target; p95 sees the
    # busy hours. A 1-core request drops by at most half in one step.
    assert found.cpu.vpa_target == pytest.approx(0.1 * 1.15, rel=0.03)
    assert found.cpu.evidence.p95 == pytest.approx(0.11, rel=0.03)
    assert found.cpu.recommended_request == pytest.approx(0.5)
    assert found.cpu.recommended_quantity == "500m"
    # Memory: 2 GiB is far above the 563 MiB peak; the waste above 1.5 x the peak goes in one step, the
    # rest only in bounded steps later.
    assert found.memory.evidence.peak == pytest.approx(563.2 * MIB, rel=0.03)
    assert found.memory.recommended_request == pytest.approx(found.memory.evidence.peak * 1.5)
    assert found.memory.evidence.samples == pytest.approx(8 * 1440, rel=0.01)
    assert found.memory.recommended_limit == pytest.approx(found.memory.recommended_request)
    assert found.cpu.recommended_limit == pytest.approx(1.0)  # the 2:1 limit ratio is kept
    # Saving: 3 replicas x (0.5 cores + 0.4 GiB) x fitted unit prices x 730 h, in the catalog's currency.
    assert found.monthly_savings.currency_code == "USD" and found.monthly_savings.units > 0
    assert found.recommended_instance_type  # the cheapest type that holds one replica
    assert found.max_replicas >= found.min_replicas >= 1


async def test_without_history_nothing_is_cut(start_cost: Any, alerting: Any) -> None:
    address, _ = alerting
    cost = await start_cost(alerting_address=address)
    await cost.stub.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="checkout", team="payments", environment="production", resources=[compute()]
        )
    )
    found = await cost.stub.RecommendResources(cost_pb2.RecommendResourcesRequest(service="checkout"))
    assert not found.changes and not found.decrease_allowed
    assert "no usage history" in found.reasons[0]


async def test_errors_name_what_is_missing(start_cost: Any, alerting: Any) -> None:
    address, _ = alerting
    cost = await start_cost(alerting_address=address)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await cost.stub.RecommendResources(cost_pb2.RecommendResourcesRequest(service="nowhere"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await cost.stub.RecommendResources(cost_pb2.RecommendResourcesRequest(service=""))
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    unconfigured = await start_cost()
    await unconfigured.stub.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="checkout", team="payments", environment="production", resources=[compute()]
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as no_history:
        await unconfigured.stub.RecommendResources(cost_pb2.RecommendResourcesRequest(service="checkout"))
    assert no_history.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "alerting" in (no_history.value.details() or "")
