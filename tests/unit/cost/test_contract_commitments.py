"""FOCUS 1.3 contract commitments: dataset rows, ContractApplied cells, use over a window."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from paved_cost.contract_commitments import (
    applied_entries,
    check_header,
    commitment_use,
    header_index,
    parse_row,
)
from paved_cost.focus import RowError
from paved_kit.errors import InvalidArgument

FIXTURE = Path(__file__).resolve().parents[2] / "data" / "focus" / "focus_1_3_contract_commitment.csv"
NOV = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def fixture_rows() -> tuple[dict[str, int], list[list[str]]]:
    with FIXTURE.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header_index(header), rows


def test_fixture_commitments_parse_and_prorate() -> None:
    index, rows = fixture_rows()
    spend, usage = (parse_row(row, index, "") for row in rows)
    assert (spend.category, spend.cost, spend.quantity) == ("Spend", Decimal("365.00"), None)
    assert (usage.category, usage.quantity, usage.unit) == ("Usage", Decimal(720), "Hours")
    # 365.00 over the 365 days of 2026: November's 30 days commit 30.00; the whole November term is 720.
    assert spend.prorated(*NOV) == Decimal("30.00")
    assert usage.prorated(*NOV) == Decimal(720)
    assert usage.prorated(datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)) == 0


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("ContractCommitmentCategory", "Other", "is not one of Spend, Usage"),
        ("ContractCommitmentId", "", "mandatory column is empty"),
        ("ContractCommitmentCost", "", "a Spend commitment needs its cost"),
        ("ContractCommitmentCost", "-5", "not a finite non-negative number"),
        ("ContractCommitmentPeriodEnd", "2025-01-01", "must be after ContractCommitmentPeriodStart"),
        ("ContractPeriodStart", "next year", "not an ISO 8601 date-time"),
    ],
)
def test_bad_rows_name_their_column(column: str, value: str, message: str) -> None:
    index, rows = fixture_rows()
    row = list(rows[0])
    row[index[column]] = value
    with pytest.raises(RowError) as caught:
        parse_row(row, index, "")
    assert caught.value.column == column and message in caught.value.message


def test_missing_columns_are_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_header(header_index(["ContractCommitmentId", "ContractId"]))
    assert "missing mandatory FOCUS column ContractCommitmentCategory" in [
        v.description for v in caught.value.field_violations
    ]


def test_contract_applied_cells() -> None:
    cell = json.dumps(
        [
            {"ContractCommitmentID": "a", "ContractCommitmentAppliedCost": 100.0},
            {"ContractCommitmentId": "b", "ContractCommitmentAppliedQuantity": "10", "x_Balance": 5},
            {"ContractCommitmentAppliedCost": 1},  # no id: not an entry
            "junk",
        ]
    )
    entries = applied_entries(cell)
    assert [(e.contract_commitment_id, e.cost, e.quantity) for e in entries] == [
        ("a", Decimal("100.0"), None),
        ("b", None, Decimal(10)),
    ]
    assert applied_entries("not json") == [] and applied_entries("3") == []


def test_use_over_a_window() -> None:
    index, rows = fixture_rows()
    commitments = [parse_row(row, index, "") for row in rows]
    applied = [
        (
            "checkout",
            json.dumps([{"ContractCommitmentId": "cc-spend-2026", "ContractCommitmentAppliedCost": 10}]),
        ),
        (
            "search",
            json.dumps(
                [
                    {"ContractCommitmentId": "cc-spend-2026", "ContractCommitmentAppliedCost": 5},
                    {"ContractCommitmentId": "cc-usage-2026-11", "ContractCommitmentAppliedQuantity": 360},
                    {"ContractCommitmentId": "unknown", "ContractCommitmentAppliedCost": 99},
                ]
            ),
        ),
    ]
    uses, per_service = commitment_use(commitments, applied, *NOV)
    by_id = {use.commitment.contract_commitment_id: use for use in uses}
    assert by_id["cc-spend-2026"].applied == 15 and by_id["cc-spend-2026"].utilisation == pytest.approx(0.5)
    assert by_id["cc-usage-2026-11"].utilisation == pytest.approx(0.5)
    assert per_service == {
        "checkout": {"cc-spend-2026": Decimal(10)},
        "search": {"cc-spend-2026": Decimal(5)},
    }
