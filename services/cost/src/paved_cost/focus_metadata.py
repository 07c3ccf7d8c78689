"""Which FOCUS version a file is, and what its metadata says about completeness.

The version comes from the metadata's ``FocusVersion`` when the data generator supplies it, otherwise
from the columns: each version introduced columns that older ones lack (1.1: ServiceSubcategory,
CapacityReservationId…; 1.2: InvoiceId, BillingAccountType…; 1.3: the allocation columns,
ContractApplied, ServiceProviderName…). Completeness is FOCUS 1.3's Recency metadata: per dataset
instance either ``DatasetInstanceComplete`` or ``TimeSectors`` with ``TimeSectorStart``,
``TimeSectorEnd`` and ``TimeSectorComplete``. A sector that is not complete is reported by the import,
so provisional data is never mistaken for final.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from paved_kit.errors import FieldViolation, InvalidArgument

SUPPORTED_VERSIONS = ("1.0-preview", "1.0", "1.1", "1.2", "1.3")
# Newest first: the first version whose marker columns a header has is its version.
_MARKERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "1.3",
        frozenset(
            {
                "AllocatedMethodId",
                "AllocatedMethodDetails",
                "AllocatedResourceId",
                "AllocatedResourceName",
                "AllocatedTags",
                "ContractApplied",
                "ServiceProviderName",
                "HostProviderName",
            }
        ),
    ),
    (
        "1.2",
        frozenset(
            {
                "BillingAccountType",
                "SubAccountType",
                "InvoiceId",
                "PricingCurrency",
                "PricingCurrencyContractedUnitPrice",
                "PricingCurrencyEffectiveCost",
                "PricingCurrencyListUnitPrice",
            }
        ),
    ),
    (
        "1.1",
        frozenset(
            {
                "CapacityReservationId",
                "CapacityReservationStatus",
                "CommitmentDiscountQuantity",
                "CommitmentDiscountUnit",
                "ServiceSubcategory",
                "SkuMeter",
                "SkuPriceDetails",
            }
        ),
    ),
    ("1.0-preview", frozenset({"ChargeType"})),
)
_FIELD = "header.metadata"


@dataclass(frozen=True)
class TimeSector:
    """A stretch of time the data generator declares complete or not."""

    start: datetime
    end: datetime
    complete: bool
    dataset_instance: str | None = None


@dataclass(frozen=True)
class FocusMetadata:
    """What an import knows of its file beyond the rows."""

    version: str | None = None
    sectors: tuple[TimeSector, ...] = ()
    # Datasets that are not time series declare completeness once; False means incomplete.
    instance_complete: bool | None = None

    def incomplete(self) -> list[TimeSector]:
        return [sector for sector in self.sectors if not sector.complete]


def detect_version(columns: Iterable[str], declared: str | None = None) -> str:
    """The FOCUS version: the declared one when given, else the newest whose marker columns are present."""
    if declared:
        return declared
    names = {name.strip().lstrip("\ufeff") for name in columns}
    for version, markers in _MARKERS:
        if names & markers:
            return version
    return "1.0"


def parse_metadata(text: str) -> FocusMetadata:
    """The FOCUS metadata document (JSON) an import carries; INVALID_ARGUMENT naming what is wrong."""
    if not text.strip():
        return FocusMetadata()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise _invalid(f"not JSON: {err.msg} at character {err.pos}") from None
    if not isinstance(document, dict):
        raise _invalid("must be a JSON object")
    version = _version(document)
    recency = document.get("Recency")
    if recency is None:
        return FocusMetadata(version=version)
    if isinstance(recency, dict):
        recency = [recency]
    if not isinstance(recency, list):
        raise _invalid("Recency must be a collection of objects")
    sectors: list[TimeSector] = []
    instance_complete: bool | None = None
    for at, entry in enumerate(recency):
        if not isinstance(entry, dict):
            raise _invalid(f"Recency[{at}] must be an object")
        instance = entry.get("DatasetInstanceId")
        instance_id = instance if isinstance(instance, str) else None
        if "DatasetInstanceComplete" in entry:
            value = entry["DatasetInstanceComplete"]
            if not isinstance(value, bool):
                raise _invalid(f"Recency[{at}].DatasetInstanceComplete must be a boolean")
            instance_complete = value if instance_complete is None else instance_complete and value
        sectors += _sectors(entry.get("TimeSectors", []), f"Recency[{at}]", instance_id)
    return FocusMetadata(version=version, sectors=tuple(sectors), instance_complete=instance_complete)


def _version(document: dict[str, Any]) -> str | None:
    candidates: list[Any] = [document.get("FocusVersion")]
    for key in ("Schema", "Schemas"):
        schemas = document.get(key)
        for schema in schemas if isinstance(schemas, list) else [schemas]:
            if isinstance(schema, dict):
                candidates.append(schema.get("FocusVersion"))
    found = [value for value in candidates if value is not None]
    if not found:
        return None
    version = found[-1]
    if not isinstance(version, str) or version not in SUPPORTED_VERSIONS:
        raise _invalid(f"FocusVersion {str(version)[:20]!r} is not one of {', '.join(SUPPORTED_VERSIONS)}")
    return version


def _sectors(raw: Any, where: str, instance: str | None) -> list[TimeSector]:
    if not isinstance(raw, list):
        raise _invalid(f"{where}.TimeSectors must be a list")
    sectors = []
    for at, item in enumerate(raw):
        here = f"{where}.TimeSectors[{at}]"
        if not isinstance(item, dict):
            raise _invalid(f"{here} must be an object")
        complete = item.get("TimeSectorComplete")
        if not isinstance(complete, bool):
            raise _invalid(f"{here}.TimeSectorComplete must be a boolean")
        start = _time(item.get("TimeSectorStart"), f"{here}.TimeSectorStart")
        end = _time(item.get("TimeSectorEnd"), f"{here}.TimeSectorEnd")
        if end <= start:
            raise _invalid(f"{here}.TimeSectorEnd must be after TimeSectorStart")
        sectors.append(TimeSector(start, end, complete, instance))
    return sectors


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise _invalid(f"{where} must be an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid(f"{where} is not an ISO 8601 date-time: {value[:40]!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def provisional_periods(periods: Sequence[str], metadata: FocusMetadata) -> list[str]:
    """Billing periods (YYYY-MM) of an import that overlap a sector the metadata calls incomplete.

    A non-time-series dataset declared incomplete makes every imported period provisional.
    """
    if metadata.instance_complete is False:
        return sorted(periods)
    incomplete = metadata.incomplete()
    provisional = []
    for period in periods:
        year, month = (int(part) for part in period.split("-"))
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        if any(sector.start < end and start < sector.end for sector in incomplete):
            provisional.append(period)
    return sorted(provisional)


def _invalid(rule: str) -> InvalidArgument:
    return InvalidArgument("invalid FOCUS metadata", [FieldViolation(_FIELD, rule)])
