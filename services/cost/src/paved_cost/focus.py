"""FOCUS billing rows: column names of FOCUS 1.0-1.3, validation, and a CSV reader fed in arbitrary chunks.

Parsing is the hot path of an import (a million rows must go through in seconds), so values that repeat
across rows — timestamps of hourly charges, tag sets — are parsed once and cached.
"""

from __future__ import annotations

import csv
import io
import json
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_cost.attribution import Attribution

# Canonical FOCUS column → older or newer spellings accepted for it.
ALIASES: dict[str, tuple[str, ...]] = {
    "ChargeCategory": ("ChargeType",),  # FOCUS 1.0-preview
    "ProviderName": ("ServiceProviderName",),  # FOCUS 1.3 renames it
    "Tags": ("tags",),
}
COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "PricingCategory",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "ResourceId",
    "ResourceType",
    "RegionId",
    "SubAccountId",
    "SkuId",
    "ConsumedQuantity",
    "ConsumedUnit",
    "CommitmentDiscountId",
    "CommitmentDiscountType",
    "Tags",
    # FOCUS 1.3 split cost allocation: the row's cost belongs to the allocated resource, whose tags
    # (AllocatedTags, never repeating Tags) complete the row's for attribution.
    "AllocatedResourceId",
    "AllocatedTags",
    # FOCUS 1.3: which contract commitments a charge draws on (JSON), kept as given for commitment use.
    "ContractApplied",
)
MANDATORY: tuple[str, ...] = (
    "BilledCost",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
)
CHARGE_CATEGORIES = frozenset({"Usage", "Purchase", "Tax", "Credit", "Adjustment"})
MAX_REJECTIONS = 1000
_TAG_CACHE_LIMIT = 200_000
_TIME_CACHE_LIMIT = 200_000


class BillingRecord(NamedTuple):
    """One validated billing row; field order is the column order of the stored table."""

    source: str
    billing_period: str  # YYYY-MM of BillingPeriodStart: with source, the idempotency key
    charge_period_start: datetime
    charge_period_end: datetime
    billing_period_start: datetime
    billing_period_end: datetime
    charge_category: str
    pricing_category: str | None
    provider_name: str | None
    service_name: str | None
    service_category: str | None
    region_id: str | None
    sub_account_id: str | None
    resource_id: str | None
    resource_type: str | None
    sku_id: str | None
    billing_currency: str
    billed_cost: Decimal
    effective_cost: Decimal
    list_cost: Decimal | None
    contracted_cost: Decimal | None
    consumed_quantity: Decimal | None
    consumed_unit: str | None
    commitment_discount_id: str | None
    commitment_discount_type: str | None
    tags: str | None  # JSON object, keys sorted; AllocatedTags merged in
    service: str | None  # attributed from tags
    team: str | None  # attributed from tags
    contract_applied: str | None  # FOCUS 1.3 ContractApplied as given


RECORD_FIELDS: tuple[str, ...] = BillingRecord._fields


@dataclass(frozen=True)
class RowRejection:
    """Why data row ``row`` (1-based, header excluded) was refused, naming the FOCUS column."""

    row: int
    column: str
    message: str


class RowError(Exception):
    """A bad cell; carries the column for the rejection."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


class RowParser:
    """Validates rows given as cell sequences laid out by ``index`` (FOCUS column → position)."""

    def __init__(
        self,
        source: str,
        index: dict[str, int],
        attribution: Attribution,
        *,
        null_token: str = "",
        default_currency: str = "USD",
    ) -> None:
        check_mandatory(index)
        self.source = source
        self._index = index
        self._attribution = attribution
        self._nulls = frozenset({"", null_token})
        self._default_currency = default_currency
        self._width = max(index.values()) + 1
        # -1 is the empty cell parse() appends: a column the data does not have reads as null.
        self._pick = operator.itemgetter(*(index.get(column, -1) for column in COLUMNS))
        self._periods: dict[datetime, str] = {}
        self._times: dict[str, datetime] = {}
        self._tags: dict[tuple[str | None, str | None], tuple[str | None, str | None, str | None]] = {}

    def parse(self, cells: list[str]) -> BillingRecord:
        """The record of ``cells``; raises :class:`RowError` naming the first bad column.

        Written for speed: one C-level pick of the known columns, then straight-line checks.
        """
        if len(cells) < self._width:
            # A short row would silently read as nulls; truncated lines come out of csv as short rows.
            raise RowError(
                _column_at(self._index, len(cells)), f"row has {len(cells)} cells, fewer than the header"
            )
        nulls = self._nulls
        values: list[Any]
        # Absent columns point at the empty cell appended here.
        cells.append("")
        (
            billed_text,
            effective_text,
            list_text,
            contracted_text,
            currency,
            period_start_text,
            period_end_text,
            charge_start_text,
            charge_end_text,
            category,
            pricing_category,
            provider,
            service_name,
            service_category,
            resource_id,
            resource_type,
            region,
            sub_account,
            sku,
            consumed_text,
            consumed_unit,
            commitment_id,
            commitment_type,
            tags_text,
            allocated_resource,
            allocated_tags_text,
            contract_applied,
        ) = values = [None if value in nulls else value for value in self._pick(cells)]
        del values
        if billed_text is None:
            raise RowError("BilledCost", "mandatory column is empty")
        billed = _decimal("BilledCost", billed_text)
        effective = billed if effective_text is None else _decimal("EffectiveCost", effective_text)
        times = self._times
        charge_start = times.get(charge_start_text) or self._parse_time(
            "ChargePeriodStart", charge_start_text
        )
        charge_end = times.get(charge_end_text) or self._parse_time("ChargePeriodEnd", charge_end_text)
        if charge_end < charge_start:
            raise RowError("ChargePeriodEnd", "ChargePeriodEnd is before ChargePeriodStart")
        period_start = times.get(period_start_text) or self._parse_time(
            "BillingPeriodStart", period_start_text
        )
        period_end = times.get(period_end_text) or self._parse_time("BillingPeriodEnd", period_end_text)
        if period_end < period_start:
            raise RowError("BillingPeriodEnd", "BillingPeriodEnd is before BillingPeriodStart")
        if category not in CHARGE_CATEGORIES:
            if category is None:
                raise RowError("ChargeCategory", "mandatory column is empty")
            raise RowError(
                "ChargeCategory", f"{category[:40]!r} is not one of {', '.join(sorted(CHARGE_CATEGORIES))}"
            )
        if tags_text is None and allocated_tags_text is None:
            tags = service = team = None
        else:
            key = (tags_text, allocated_tags_text)
            tags, service, team = self._tags.get(key) or self._parse_tags(key)
        return BillingRecord(
            self.source,
            self._periods.get(period_start) or self._period(period_start),
            charge_start,
            charge_end,
            period_start,
            period_end,
            category,
            pricing_category,
            provider,
            service_name,
            service_category,
            region,
            sub_account,
            resource_id if allocated_resource is None else allocated_resource,
            resource_type,
            sku,
            currency or self._default_currency,
            billed,
            effective,
            None if list_text is None else _decimal("ListCost", list_text),
            None if contracted_text is None else _decimal("ContractedCost", contracted_text),
            None if consumed_text is None else _decimal("ConsumedQuantity", consumed_text),
            consumed_unit,
            commitment_id,
            commitment_type,
            tags,
            service,
            team,
            contract_applied,
        )

    def _period(self, start: datetime) -> str:
        period = f"{start.year:04d}-{start.month:02d}"
        self._periods[start] = period
        return period

    def _parse_time(self, column: str, value: str | None) -> datetime:
        if value is None:
            raise RowError(column, "mandatory column is empty")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise RowError(column, f"not an ISO 8601 date-time: {value[:40]!r}") from None
        # FOCUS times are UTC; exports often leave the zone out.
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        if len(self._times) >= _TIME_CACHE_LIMIT:
            self._times.clear()
        self._times[value] = parsed
        return parsed

    def _parse_tags(self, key: tuple[str | None, str | None]) -> tuple[str | None, str | None, str | None]:
        result = normalize_tags(key[0], self._attribution, key[1])
        if len(self._tags) >= _TAG_CACHE_LIMIT:
            self._tags.clear()
        self._tags[key] = result
        return result


def normalize_tags(
    value: str | None, attribution: Attribution, allocated: str | None = None
) -> tuple[str, str | None, str | None]:
    """(tags as sorted JSON, service, team) of a Tags cell and an AllocatedTags cell (FOCUS 1.3).

    A split-cost row belongs to the allocated resource: its AllocatedTags join the row's Tags and win
    where a key is in both, so e.g. the team of the pod a node's cost was split to is the row's team.
    :class:`RowError` names the cell that is not a JSON object.
    """
    tags = {} if value is None else _tag_object("Tags", value)
    if allocated is not None:
        tags.update(_tag_object("AllocatedTags", allocated))
    service, team = attribution.attribute(tags)
    return json.dumps(tags, sort_keys=True, ensure_ascii=False), service, team


def _tag_object(column: str, value: str) -> dict[str, str]:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise RowError(column, "not a JSON object") from None
    if not isinstance(parsed, dict):
        raise RowError(column, "not a JSON object")
    return {str(key): item if isinstance(item, str) else json.dumps(item) for key, item in parsed.items()}


def check_mandatory(index: dict[str, int]) -> None:
    """Refuse data whose header lacks a mandatory FOCUS column."""
    missing = [column for column in MANDATORY if column not in index]
    if missing:
        raise InvalidArgument(
            "the billing data lacks mandatory FOCUS columns",
            [FieldViolation("csv_chunk", f"missing mandatory FOCUS column {name}") for name in missing],
            reason="MISSING_FOCUS_COLUMN",
        )


def _decimal(column: str, text: str) -> Decimal:
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise RowError(column, f"not a decimal number: {text[:40]!r}") from None
    if not parsed.is_finite():
        raise RowError(column, f"not a finite number: {text[:40]!r}")
    return parsed


def _column_at(index: dict[str, int], position: int) -> str:
    for column, at in sorted(index.items(), key=lambda item: item[1]):
        if at >= position:
            return column
    return "row"


def header_index(header: Sequence[str]) -> dict[str, int]:
    """FOCUS column → position in ``header``; unknown columns (x_ extensions, others) are ignored."""
    wanted = {column: column for column in COLUMNS}
    for column, aliases in ALIASES.items():
        for alias in aliases:
            wanted.setdefault(alias, column)
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        canonical = wanted.get(name.strip().lstrip("\ufeff"))
        if canonical is not None and canonical not in index:
            index[canonical] = position
    return index


class CsvChunkReader:
    """Splits CSV bytes arriving in arbitrary chunks into rows, honouring quoted newlines."""

    def __init__(self) -> None:
        self._pending = ""
        self._decoder = _utf8_decoder()
        self.header: list[str] | None = None

    def feed(self, chunk: bytes) -> Iterator[list[str]]:
        """Complete data rows available after ``chunk`` (the header is kept in :attr:`header`)."""
        text = self._pending + self._decoder(chunk, False)
        cut = _last_complete_line_end(text)
        self._pending = text[cut:]
        return self._rows(text[:cut])

    def finish(self) -> Iterator[list[str]]:
        """Rows left at the end of the stream (a last line without newline)."""
        text = self._pending + self._decoder(b"", True)
        self._pending = ""
        return self._rows(text)

    def _rows(self, text: str) -> Iterator[list[str]]:
        if not text:
            return iter(())
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        if self.header is None:
            try:
                self.header = next(reader)
            except StopIteration:
                return iter(())
        return (row for row in reader if row)


def _utf8_decoder() -> Callable[[bytes, bool], str]:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    return decoder.decode


def first_record_end(data: bytes) -> int:
    """Index after the first newline outside quotes (0 when the first record is not complete yet)."""
    position = data.find(b"\n")
    while position >= 0:
        if data.count(b'"', 0, position) % 2 == 0:
            return position + 1
        position = data.find(b"\n", position + 1)
    return 0


def _last_complete_line_end(text: str) -> int:
    """Index after the last newline that is outside quotes (quote count before it is even)."""
    position = text.rfind("\n")
    while position >= 0:
        if text.count('"', 0, position) % 2 == 0:
            return position + 1
        position = text.rfind("\n", 0, position)
    return 0


def day_of(moment: datetime) -> date:
    """The UTC calendar day a charge is booked on (the day its charge period starts)."""
    return moment.date()
