"""ImportBilling over gRPC: the FOCUS sample with exact totals, re-import, bad rows, attribution."""

from __future__ import annotations

import asyncio
import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from paved.cost.v1 import cost_pb2
from paved_cost.money import from_money
from paved_kit.grpc_errors import error_details


def csv_stream(
    data: bytes, source: str, chunk: int = 7919, mode: int = cost_pb2.IMPORT_MODE_ALL_OR_NOTHING
) -> Iterator[cost_pb2.ImportBillingRequest]:
    yield cost_pb2.ImportBillingRequest(
        header=cost_pb2.ImportHeader(source=source, mode=mode, null_token="NULL")
    )
    # An odd chunk size splits lines and quoted fields anywhere.
    for start in range(0, len(data), chunk):
        yield cost_pb2.ImportBillingRequest(csv_chunk=data[start : start + chunk])


def direct_sums(path: Path, column: str) -> dict[str, tuple[Decimal, Decimal, int]]:
    sums: dict[str, list[object]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            entry = sums[row[column]]
            entry[0] += Decimal(row["BilledCost"])  # type: ignore[operator]
            entry[1] += Decimal(row["EffectiveCost"])  # type: ignore[operator]
            entry[2] += 1  # type: ignore[operator]
    return {key: (b, e, n) for key, (b, e, n) in sums.items()}  # type: ignore[misc]


@pytest.mark.parametrize("parse_in_database", [True, False], ids=["db-parse", "python-parse"])
async def test_focus_sample_imports_with_exact_totals(
    start_cost, focus_sample: Path, parse_in_database: bool
) -> None:
    cost = await start_cost(import_parse_in_database=parse_in_database)
    data = await asyncio.to_thread(focus_sample.read_bytes)
    response = await cost.stub.ImportBilling(csv_stream(data, "focus-sample"))
    assert (response.rows_read, response.rows_imported, response.rows_rejected) == (1000, 1000, 0)
    assert set(response.billing_periods) == {"2024-09", "2024-10"}
    all_billed = sum((v[0] for v in direct_sums(focus_sample, "ProviderName").values()), Decimal(0))
    assert from_money(response.billed_cost) == all_billed.quantize(Decimal("0.000000001"))
    for column in ("ProviderName", "ChargeCategory"):
        summary = await cost.stub.SummarizeBilling(cost_pb2.SummarizeBillingRequest(group_by=column))
        got = {t.key: (Decimal(t.billed_cost), Decimal(t.effective_cost), t.rows) for t in summary.totals}
        assert got == direct_sums(focus_sample, column)


async def test_reimport_replaces_and_never_doubles(cost, focus_sample: Path) -> None:
    data = await asyncio.to_thread(focus_sample.read_bytes)
    await cost.stub.ImportBilling(csv_stream(data, "focus-sample"))
    again = await cost.stub.ImportBilling(csv_stream(data, "focus-sample", chunk=65536))
    assert again.rows_replaced == 1000 and again.rows_imported == 1000
    summary = await cost.stub.SummarizeBilling(cost_pb2.SummarizeBillingRequest(group_by="ProviderName"))
    assert sum(t.rows for t in summary.totals) == 1000
    # Another source is another import: it adds.
    await cost.stub.ImportBilling(csv_stream(data, "other-account"))
    summary = await cost.stub.SummarizeBilling(cost_pb2.SummarizeBillingRequest(group_by="ProviderName"))
    assert sum(t.rows for t in summary.totals) == 2000


BAD_CSV = (
    b"BilledCost,EffectiveCost,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,"
    b"ChargeCategory,ProviderName,Tags\n"
    b"1.50,1.50,2024-09-01,2024-10-01,2024-09-02T00:00:00Z,2024-09-02T01:00:00Z,Usage,AWS,"
    b'"{""team"": ""a""}"\n'
    b"abc,1,2024-09-01,2024-10-01,2024-09-02T00:00:00Z,2024-09-02T01:00:00Z,Usage,AWS,NULL\n"
    b"NULL,1,2024-09-01,2024-10-01,2024-09-02T00:00:00Z,2024-09-02T01:00:00Z,Usage,AWS,NULL\n"
    b"2,2,2024-09-01,2024-10-01,2024-09-03T00:00:00Z,2024-09-02T01:00:00Z,Usage,AWS,NULL\n"
    b"2.25,2.25,2024-09-01,2024-10-01,2024-09-04T00:00:00Z,2024-09-04T01:00:00Z,Usage,GCP,NULL\n"
)


async def test_all_or_nothing_refuses_the_whole_import(cost) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.ImportBilling(csv_stream(BAD_CSV, "bad"))
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [(v.field) for v in details.field_violations] == [
        "rows[2].BilledCost",
        "rows[3].BilledCost",
        "rows[4].ChargePeriodEnd",
    ]
    summary = await cost.stub.SummarizeBilling(cost_pb2.SummarizeBillingRequest(group_by="ProviderName"))
    assert list(summary.totals) == []


@pytest.mark.parametrize("parse_in_database", [True, False], ids=["db-parse", "python-parse"])
async def test_skip_invalid_keeps_the_good_rows(start_cost, parse_in_database: bool) -> None:
    cost = await start_cost(import_parse_in_database=parse_in_database)
    response = await cost.stub.ImportBilling(
        csv_stream(BAD_CSV, "bad", chunk=31, mode=cost_pb2.IMPORT_MODE_SKIP_INVALID)
    )
    assert (response.rows_read, response.rows_imported, response.rows_rejected) == (5, 2, 3)
    assert [(r.row, r.column) for r in response.rejections] == [
        (2, "BilledCost"),
        (3, "BilledCost"),
        (4, "ChargePeriodEnd"),
    ]
    assert "abc" in response.rejections[0].message
    summary = await cost.stub.SummarizeBilling(cost_pb2.SummarizeBillingRequest(group_by="ProviderName"))
    assert {t.key: Decimal(t.billed_cost) for t in summary.totals} == {
        "AWS": Decimal("1.50"),
        "GCP": Decimal("2.25"),
    }


async def test_missing_mandatory_column_is_refused(cost) -> None:
    data = b"BilledCost,ChargePeriodStart\n1,2024-09-01\n"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.ImportBilling(csv_stream(data, "x"))
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert any("ChargePeriodEnd" in v.description for v in details.field_violations)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def row(cost: str, day: int, tags: dict[str, str], month: int = 10) -> cost_pb2.FocusRow:
    focus_row = cost_pb2.FocusRow(
        billed_cost=cost,
        effective_cost=cost,
        billing_currency="USD",
        charge_category="Usage",
        provider_name="AWS",
        tags=tags,
    )
    start = datetime(2024, month, 1, tzinfo=UTC)
    end = datetime(2024 + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    focus_row.billing_period_start.FromDatetime(start)
    focus_row.billing_period_end.FromDatetime(end)
    focus_row.charge_period_start.FromDatetime(datetime(2024, month, day, tzinfo=UTC))
    focus_row.charge_period_end.FromDatetime(datetime(2024, month, day, 23, tzinfo=UTC))
    return focus_row


def rows_stream(source: str, rows: list[cost_pb2.FocusRow]) -> Iterator[cost_pb2.ImportBillingRequest]:
    yield cost_pb2.ImportBillingRequest(header=cost_pb2.ImportHeader(source=source))
    yield cost_pb2.ImportBillingRequest(rows=cost_pb2.FocusRows(rows=rows))


async def test_attribution_by_tags_registration_and_unallocated(cost) -> None:
    # "checkout" names its team in tags; "search" only its service (its team comes from its registration);
    # the untagged row and the row of an unregistered service without team are unallocated.
    await cost.stub.RegisterResources(
        cost_pb2.RegisterResourcesRequest(service="search", team="discovery", environment="production")
    )
    rows = [
        row("10", 1, {"service": "checkout", "team": "payments"}),
        row("5", 2, {"application": "checkout", "owner": "payments"}),
        row("7", 2, {"service": "search"}),
        row("3", 3, {}),
        row("2", 3, {"application": "orphan"}),
    ]
    response = await cost.stub.ImportBilling(rows_stream("tagged", rows))
    assert response.rows_imported == 5
    teams = await cost.stub.GetTeamCosts(cost_pb2.GetTeamCostsRequest(month="2024-10"))
    got = {t.team: (from_money(t.current_month), t.services) for t in teams.teams}
    assert got == {"payments": (Decimal(15), 1), "discovery": (Decimal(7), 1)}
    assert from_money(teams.unallocated) == Decimal(5)
    assert from_money(teams.total) == Decimal(27)
    one = await cost.stub.GetTeamCosts(cost_pb2.GetTeamCostsRequest(month="2024-10", team="payments"))
    assert [t.team for t in one.teams] == ["payments"]


async def test_a_team_counts_each_service_once_whether_tags_or_a_registration_name_it(cost) -> None:
    # "search" is tagged with its team on one day and names only itself on another (its registration then
    # names the same team): one service. "feed" has only untagged rows and its registration: one more.
    # "web" is tagged "payments" but registered to "discovery": it counts once for each team it cost.
    for service, team in (("search", "discovery"), ("feed", "discovery"), ("web", "discovery")):
        await cost.stub.RegisterResources(
            cost_pb2.RegisterResourcesRequest(service=service, team=team, environment="production")
        )
    rows = [
        row("1", 1, {"service": "search", "team": "discovery"}),
        row("2", 2, {"service": "search"}),
        row("4", 3, {"service": "feed"}),
        row("8", 4, {"service": "web", "team": "payments"}),
        row("16", 5, {"service": "web"}),
        row("32", 6, {"service": "old", "team": "payments"}, month=9),
    ]
    await cost.stub.ImportBilling(rows_stream("overlap", rows))
    teams = await cost.stub.GetTeamCosts(cost_pb2.GetTeamCostsRequest(month="2024-10"))
    got = {t.team: (from_money(t.current_month), t.services) for t in teams.teams}
    assert got == {"discovery": (Decimal(23), 3), "payments": (Decimal(8), 1)}


async def test_configured_tag_keys_change_attribution(start_cost) -> None:
    harness = await start_cost(service_tag_keys=["app"], team_tag_keys=["squad"])
    await harness.stub.ImportBilling(
        rows_stream("keys", [row("4", 1, {"app": "api", "squad": "core", "team": "x"})])
    )
    teams = await harness.stub.GetTeamCosts(cost_pb2.GetTeamCostsRequest(month="2024-10"))
    assert [t.team for t in teams.teams] == ["core"]
    service = await harness.stub.GetServiceCost(
        cost_pb2.GetServiceCostRequest(service="services/api", month="2024-10")
    )
    assert from_money(service.current_month) == Decimal(4) and service.team == "core"


async def test_header_must_come_first(cost) -> None:
    def stream() -> Iterator[cost_pb2.ImportBillingRequest]:
        yield cost_pb2.ImportBillingRequest(csv_chunk=b"BilledCost\n")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.ImportBilling(stream())
    assert error_details(caught.value).field_violations[0].field == "header"


def test_tags_json_is_what_the_sample_uses(focus_sample: Path) -> None:
    # Guard for the sample's shape: tags are JSON objects or NULL.
    with focus_sample.open(newline="", encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            if line["Tags"] != "NULL":
                assert isinstance(json.loads(line["Tags"]), dict)


@pytest.mark.parametrize("parse_in_database", [True, False], ids=["db-parse", "python-parse"])
async def test_rows_that_parse_but_break_rules_are_rejected(start_cost, parse_in_database: bool) -> None:
    cost = await start_cost(import_parse_in_database=parse_in_database)
    data = (
        b"BilledCost,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,Tags\n"
        b"1,2024-09-01,2024-10-01,2024-09-02,2024-09-03,Usage,\n"
        b"2,2024-09-01,2024-10-01,2024-09-05,2024-09-03,Usage,\n"
        b"3,2024-09-01,2024-10-01,2024-09-02,2024-09-03,Refund,\n"
        b"4,2024-09-01,2024-10-01,2024-09-02,2024-09-03,Usage,[1]\n"
        b"NaN,2024-09-01,2024-10-01,2024-09-02,2024-09-03,Usage,\n"
    )
    skip = cost_pb2.IMPORT_MODE_SKIP_INVALID
    response = await cost.stub.ImportBilling(csv_stream(data, "rules", mode=skip))
    assert [(r.row, r.column) for r in response.rejections] == [
        (2, "ChargePeriodEnd"),
        (3, "ChargeCategory"),
        (4, "Tags"),
        (5, "BilledCost"),
    ]
    assert response.rows_imported == 1 and from_money(response.billed_cost) == 1


@pytest.mark.parametrize("parse_in_database", [True, False], ids=["db-parse", "python-parse"])
async def test_structurally_broken_csv_is_refused(start_cost, parse_in_database: bool) -> None:
    cost = await start_cost(import_parse_in_database=parse_in_database)
    data = BAD_CSV.splitlines(keepends=True)[0] + b'1,1,2024-09-01,2024-10-01,"2024-09-02,x\n'
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.ImportBilling(csv_stream(data, "broken"))
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.field_violations[0].field == "csv_chunk"
    assert "cost_focus" not in details.field_violations[0].description
