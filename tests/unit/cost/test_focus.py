"""FOCUS parsing in Python: column aliases, nulls, bad rows with their column, chunked CSV."""

from __future__ import annotations

import pytest
from paved_cost.attribution import Attribution
from paved_cost.focus import CsvChunkReader, RowError, RowParser, first_record_end, header_index
from paved_kit.errors import InvalidArgument

HEADER = [
    "BilledCost",
    "EffectiveCost",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeType",  # FOCUS 1.0-preview spelling of ChargeCategory
    "ServiceProviderName",  # FOCUS 1.3 spelling of ProviderName
    "Tags",
    "x_Custom",
]


def parser(null_token: str = "NULL", attribution: Attribution | None = None) -> RowParser:
    return RowParser("s", header_index(HEADER), attribution or Attribution(), null_token=null_token)


def good(**overrides: str) -> list[str]:
    row = {
        "BilledCost": "1.25",
        "EffectiveCost": "NULL",
        "BillingPeriodStart": "2024-09-01 00:00:00",
        "BillingPeriodEnd": "2024-10-01T00:00:00Z",
        "ChargePeriodStart": "2024-09-02T00:00:00+02:00",
        "ChargePeriodEnd": "2024-09-02T01:00:00+02:00",
        "ChargeType": "Usage",
        "ServiceProviderName": "AWS",
        "Tags": '{"Team ": "payments", "application": "checkout", "n": 3}',
        "x_Custom": "ignored",
    } | overrides
    return [row[name] for name in HEADER]


def test_aliases_nulls_and_attribution() -> None:
    record = parser().parse(good())
    assert record.charge_category == "Usage" and record.provider_name == "AWS"
    assert record.effective_cost == record.billed_cost  # NULL EffectiveCost falls back to BilledCost
    assert record.billing_period == "2024-09"
    assert record.charge_period_start.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert record.charge_period_start.hour == 22
    assert (record.service, record.team) == ("checkout", "payments")
    assert record.billing_currency == "USD"
    assert '"n": "3"' in (record.tags or "")


@pytest.mark.parametrize(
    ("overrides", "column"),
    [
        ({"BilledCost": "abc"}, "BilledCost"),
        ({"BilledCost": ""}, "BilledCost"),
        ({"BilledCost": "NaN"}, "BilledCost"),
        ({"ChargePeriodEnd": "2024-09-01T00:00:00Z"}, "ChargePeriodEnd"),
        ({"ChargePeriodStart": "yesterday"}, "ChargePeriodStart"),
        ({"ChargeType": "Refund"}, "ChargeCategory"),
        ({"Tags": "[1, 2]"}, "Tags"),
    ],
)
def test_bad_rows_name_the_column(overrides: dict[str, str], column: str) -> None:
    with pytest.raises(RowError) as caught:
        parser().parse(good(**overrides))
    assert caught.value.column == column


def test_short_row_is_rejected() -> None:
    with pytest.raises(RowError):
        parser().parse(["1.0", "1.0"])


def test_missing_mandatory_header_column() -> None:
    with pytest.raises(InvalidArgument) as caught:
        RowParser("s", header_index(["BilledCost"]), Attribution())
    assert {v.description for v in caught.value.field_violations} >= {
        "missing mandatory FOCUS column ChargePeriodStart"
    }


def test_configured_key_order() -> None:
    attribution = Attribution(service_keys=("application",), team_keys=("cost_center", "team"))
    record = parser(attribution=attribution).parse(good(Tags='{"team": "a", "cost_center": "cc-1"}'))
    assert record.team == "cc-1"


def test_chunked_csv_splits_anywhere_including_inside_quotes() -> None:
    text = b'a,b\n1,"multi\nline, with comma"\n2,"say ""hi"""\n3,last'
    for size in (1, 2, 3, 7, 100):
        reader = CsvChunkReader()
        rows = []
        for start in range(0, len(text), size):
            rows += list(reader.feed(text[start : start + size]))
        rows += list(reader.finish())
        assert reader.header == ["a", "b"]
        assert rows == [["1", "multi\nline, with comma"], ["2", 'say "hi"'], ["3", "last"]]


def test_first_record_end_skips_quoted_newlines() -> None:
    assert first_record_end(b'"a\nb",c\nrest') == 8
    assert first_record_end(b'"a\nb",c') == 0


ALLOCATION_HEADER = [
    "BilledCost",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ResourceId",
    "Tags",
    "AllocatedMethodId",
    "AllocatedResourceId",
    "AllocatedTags",
]


def allocated_row(**overrides: str) -> list[str]:
    row = {
        "BilledCost": "6",
        "BillingPeriodStart": "2026-11-01",
        "BillingPeriodEnd": "2026-12-01",
        "ChargePeriodStart": "2026-11-03",
        "ChargePeriodEnd": "2026-11-04",
        "ChargeCategory": "Usage",
        "ResourceId": "node-1",
        "Tags": '{"team": "platform", "cluster": "prod"}',
        "AllocatedMethodId": "ContainerRequests",
        "AllocatedResourceId": "pod/checkout-7f9",
        "AllocatedTags": '{"team": "payments", "service": "checkout"}',
    } | overrides
    return [row[name] for name in ALLOCATION_HEADER]


def test_split_cost_row_belongs_to_the_allocated_resource_and_its_tags() -> None:
    rows = RowParser("s", header_index(ALLOCATION_HEADER), Attribution())
    record = rows.parse(allocated_row())
    assert record.resource_id == "pod/checkout-7f9"
    assert (record.service, record.team) == ("checkout", "payments")
    assert record.tags == '{"cluster": "prod", "service": "checkout", "team": "payments"}'
    # The unallocated rest keeps the origin resource and its own tags.
    rest = rows.parse(allocated_row(AllocatedResourceId="", AllocatedTags=""))
    assert (rest.resource_id, rest.team, rest.service) == ("node-1", "platform", None)
    # Allocated tags alone attribute too.
    only = rows.parse(allocated_row(Tags=""))
    assert (only.service, only.team) == ("checkout", "payments")


def test_bad_allocated_tags_are_named() -> None:
    rows = RowParser("s", header_index(ALLOCATION_HEADER), Attribution())
    with pytest.raises(RowError) as caught:
        rows.parse(allocated_row(AllocatedTags="[1]"))
    assert caught.value.column == "AllocatedTags"
