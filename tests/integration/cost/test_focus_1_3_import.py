"""FOCUS 1.3 over gRPC: version detection, split cost allocation and completeness metadata, both parsers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from paved.cost.v1 import cost_pb2
from paved_cost.money import from_money
from paved_kit.grpc_errors import error_details

FOCUS_DATA = Path(__file__).resolve().parents[2] / "data" / "focus"
COSTS = FOCUS_DATA / "focus_1_3_cost_and_usage.csv"
METADATA = FOCUS_DATA / "focus_1_3_metadata.json"


def stream(data: bytes, metadata: str = "", chunk: int = 97) -> Iterator[cost_pb2.ImportBillingRequest]:
    yield cost_pb2.ImportBillingRequest(
        header=cost_pb2.ImportHeader(
            source="example-cloud", mode=cost_pb2.IMPORT_MODE_ALL_OR_NOTHING, metadata=metadata
        )
    )
    for start in range(0, len(data), chunk):
        yield cost_pb2.ImportBillingRequest(csv_chunk=data[start : start + chunk])


@pytest.mark.parametrize("parse_in_database", [True, False], ids=["db-parse", "python-parse"])
async def test_focus_1_3_allocation_and_incomplete_month(start_cost, parse_in_database: bool) -> None:
    cost = await start_cost(import_parse_in_database=parse_in_database)
    cost.clock.now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    data = await asyncio.to_thread(COSTS.read_bytes)
    metadata = await asyncio.to_thread(METADATA.read_text)
    response = await cost.stub.ImportBilling(stream(data, metadata))
    assert (response.rows_read, response.rows_imported, response.rows_rejected) == (5, 5, 0)
    assert response.focus_version == "1.3"
    assert list(response.billing_periods) == ["2026-11", "2026-12"]
    # December is imported but reported provisional: the metadata says it is not complete.
    assert list(response.provisional_periods) == ["2026-12"]
    [sector] = response.incomplete_sectors
    assert sector.start.ToDatetime(tzinfo=UTC) == datetime(2026, 12, 1, tzinfo=UTC)
    assert sector.end.ToDatetime(tzinfo=UTC) == datetime(2027, 1, 1, tzinfo=UTC)
    assert sector.dataset_instance_id == "cost-and-usage"
    assert from_money(response.billed_cost) == Decimal("25.00")

    # The node's split cost goes to the pods' teams (AllocatedTags); its unallocated rest stays the node's.
    teams = await cost.stub.GetTeamCosts(cost_pb2.GetTeamCostsRequest(month="2026-11"))
    got = {t.team: from_money(t.current_month) for t in teams.teams}
    assert got == {"payments": Decimal("16.00"), "search": Decimal("4.00"), "platform": Decimal("2.00")}
    by_resource = await cost.stub.SummarizeBilling(
        cost_pb2.SummarizeBillingRequest(group_by="ResourceId", month="2026-11")
    )
    resources = {t.key: Decimal(t.billed_cost) for t in by_resource.totals}
    assert resources == {
        "pod/checkout-7f9": Decimal("6.00"),
        "pod/search-2c1": Decimal("4.00"),
        "node-1": Decimal("2.00"),
        "db-orders": Decimal("10.00"),
    }


async def test_version_detected_without_metadata_and_nothing_provisional(cost) -> None:
    data = await asyncio.to_thread(COSTS.read_bytes)
    response = await cost.stub.ImportBilling(stream(data))
    assert response.focus_version == "1.3"
    assert list(response.provisional_periods) == [] and len(response.incomplete_sectors) == 0


async def test_bad_allocated_tags_are_rejected_by_column(start_cost) -> None:
    for parse_in_database in (True, False):
        cost = await start_cost(import_parse_in_database=parse_in_database)
        data = (await asyncio.to_thread(COSTS.read_bytes)).replace(
            b'"{""team"": ""search"", ""service"": ""search""}",\n', b'"[1, 2]",\n', 1
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await cost.stub.ImportBilling(stream(data))
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        fields = [(v.field, v.description) for v in error_details(caught.value).field_violations]
        assert fields == [("rows[2].AllocatedTags", "not a JSON object")]


async def test_bad_metadata_is_refused_and_changes_nothing(cost) -> None:
    data = await asyncio.to_thread(COSTS.read_bytes)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.ImportBilling(stream(data, '{"FocusVersion": "7"}'))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    [violation] = error_details(caught.value).field_violations
    assert violation.field == "header.metadata" and "FocusVersion '7'" in violation.description
    summary = await cost.stub.SummarizeBilling(cost_pb2.SummarizeBillingRequest(group_by="ResourceId"))
    assert list(summary.totals) == []
