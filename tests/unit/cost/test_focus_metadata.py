"""FOCUS version detection and FOCUS 1.3 completeness metadata (Recency time sectors)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from paved_cost.focus_metadata import detect_version, parse_metadata, provisional_periods
from paved_kit.errors import InvalidArgument

FOCUS_DATA = Path(__file__).resolve().parents[2] / "data" / "focus"


@pytest.mark.parametrize(
    ("columns", "version"),
    [
        (["BilledCost", "ChargeType"], "1.0-preview"),
        (["BilledCost", "ChargeCategory", "ProviderName"], "1.0"),
        (["BilledCost", "ChargeCategory", "ServiceSubcategory", "CapacityReservationId"], "1.1"),
        (["BilledCost", "ChargeCategory", "InvoiceId", "BillingAccountType", "ServiceSubcategory"], "1.2"),
        (["BilledCost", "ChargeCategory", "AllocatedMethodId", "InvoiceId"], "1.3"),
        (["\ufeffBilledCost", " ContractApplied "], "1.3"),
    ],
)
def test_version_from_columns(columns: list[str], version: str) -> None:
    assert detect_version(columns) == version


def test_declared_version_wins_over_columns() -> None:
    assert detect_version(["BilledCost", "ChargeCategory"], "1.3") == "1.3"


def test_the_1_3_fixture_is_detected_as_1_3() -> None:
    header = (FOCUS_DATA / "focus_1_3_cost_and_usage.csv").read_text().splitlines()[0].split(",")
    assert detect_version(header) == "1.3"
    # The real 1.0 sample stays 1.0.
    sample = (FOCUS_DATA / "focus_sample.csv").read_text().splitlines()[0].replace('"', "").split(",")
    assert detect_version(sample) == "1.0"


def test_recency_time_sectors_make_incomplete_periods_provisional() -> None:
    metadata = parse_metadata((FOCUS_DATA / "focus_1_3_metadata.json").read_text())
    assert metadata.version == "1.3"
    [incomplete] = metadata.incomplete()
    assert (incomplete.start, incomplete.end) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert incomplete.dataset_instance == "cost-and-usage"
    assert provisional_periods(["2026-11", "2026-12"], metadata) == ["2026-12"]
    # A sector ending exactly where a period starts does not touch it.
    assert provisional_periods(["2027-01"], metadata) == []


def test_non_time_series_instance_declared_incomplete_marks_every_period() -> None:
    metadata = parse_metadata(json.dumps({"Recency": [{"DatasetInstanceComplete": False}]}))
    assert provisional_periods(["2026-10", "2026-11"], metadata) == ["2026-10", "2026-11"]
    complete = parse_metadata(json.dumps({"Recency": [{"DatasetInstanceComplete": True}]}))
    assert provisional_periods(["2026-10"], complete) == []


def test_no_metadata_is_no_claim() -> None:
    metadata = parse_metadata("")
    assert metadata.version is None and provisional_periods(["2026-11"], metadata) == []


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        ("{", "not JSON"),
        ("[]", "must be a JSON object"),
        ('{"FocusVersion": "9.9"}', "FocusVersion '9.9' is not one of"),
        ('{"Schema": {"FocusVersion": 1.3}}', "is not one of"),
        ('{"Recency": 3}', "Recency must be a collection"),
        ('{"Recency": [{"DatasetInstanceComplete": "no"}]}', "DatasetInstanceComplete must be a boolean"),
        (
            '{"Recency": [{"TimeSectors": [{"TimeSectorStart": "2026-11-01", "TimeSectorEnd": "2026-12-01",'
            ' "TimeSectorComplete": "false"}]}]}',
            "Recency[0].TimeSectors[0].TimeSectorComplete must be a boolean",
        ),
        (
            '{"Recency": [{"TimeSectors": [{"TimeSectorStart": "soon", "TimeSectorEnd": "2026-12-01",'
            ' "TimeSectorComplete": false}]}]}',
            "TimeSectorStart is not an ISO 8601 date-time",
        ),
        (
            '{"Recency": [{"TimeSectors": [{"TimeSectorStart": "2026-12-01", "TimeSectorEnd": "2026-11-01",'
            ' "TimeSectorComplete": false}]}]}',
            "TimeSectorEnd must be after TimeSectorStart",
        ),
    ],
)
def test_bad_metadata_is_refused_naming_the_rule(document: str, rule: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_metadata(document)
    [violation] = caught.value.field_violations
    assert violation.field == "header.metadata" and rule in violation.description
