"""Cost anomalies over gRPC: a spike in one SKU's FOCUS rows is raised for its service and its team, naming
the SKU (and the region and charge category it moved) as what changed; steady days raise nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import grpc
import pytest
from cost_test_rows import day_row, days, stream  # type: ignore[import-not-found]
from paved.cost.v1 import cost_pb2
from paved_cost.money import from_money
from paved_kit.grpc_errors import error_details

SPIKE_DAY = date(2024, 10, 12)


def row(service: str, day: date, amount: Decimal, sku: str, region: str) -> cost_pb2.FocusRow:
    focus = day_row(service, "core", day, amount)
    focus.sku_id, focus.region_id, focus.service_name = sku, region, "Amazon Elastic Compute Cloud"
    return focus


async def test_a_sku_spike_is_an_anomaly_naming_the_sku(cost) -> None:
    rows = []
    for index, day in enumerate(days(date(2024, 9, 1), date(2024, 10, 15))):
        wobble = Decimal(index % 3) / 10  # a little daily variation
        rows.append(row("api", day, Decimal(20) + wobble, "BoxUsage:m5.large", "us-east-1"))
        storage = Decimal(200) if day == SPIKE_DAY else Decimal(5)
        rows.append(row("api", day, storage, "EBS:VolumeUsage.gp3", "eu-west-1"))
        rows.append(row("web", day, Decimal(8) + wobble, "BoxUsage:t3.small", "us-east-1"))
    await cost.stub.ImportBilling(stream(rows))

    found = await cost.stub.ListCostAnomalies(cost_pb2.ListCostAnomaliesRequest(days=30))
    assert found.sensitivity == "medium"
    assert [(a.scope, a.name, a.day, a.kind) for a in found.anomalies] == [
        ("service", "api", "2024-10-12", "spike"),
        ("team", "core", "2024-10-12", "spike"),
    ]
    api = found.anomalies[0]
    assert Decimal(220) <= from_money(api.cost) <= Decimal("220.2")  # 20 (+ wobble) compute + 200 storage
    assert Decimal(25) <= from_money(api.expected) <= Decimal("25.2") and api.score > 5.5
    top = api.drivers[0]
    assert (top.dimension, top.value) == ("SkuId", "EBS:VolumeUsage.gp3")
    assert top.change == pytest.approx(195.0)
    assert {(d.dimension, d.value) for d in api.drivers[:2]} == {
        ("SkuId", "EBS:VolumeUsage.gp3"),
        ("RegionId", "eu-west-1"),
    }

    only_web = await cost.stub.ListCostAnomalies(cost_pb2.ListCostAnomaliesRequest(service="web"))
    assert list(only_web.anomalies) == []

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await cost.stub.ListCostAnomalies(cost_pb2.ListCostAnomaliesRequest(days=365, sensitivity="extreme"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in error_details(error.value).field_violations] == ["days", "sensitivity"]
