"""What an import stream carries and what it answers, and the errors every import path raises."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_cost.focus import RowRejection
from paved_cost.focus_metadata import TimeSector

SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$")
MAX_REPORTED_VIOLATIONS = 100


class Mode(Enum):
    ALL_OR_NOTHING = "all_or_nothing"
    SKIP_INVALID = "skip_invalid"


class Dataset(Enum):
    """Which FOCUS dataset an import carries."""

    COST_AND_USAGE = "cost_and_usage"
    CONTRACT_COMMITMENT = "contract_commitment"  # FOCUS 1.3


@dataclass(frozen=True)
class Header:
    source: str
    mode: Mode
    null_token: str = ""
    metadata: str = ""  # the FOCUS metadata document (JSON) of the data, when the generator supplies one
    dataset: Dataset = Dataset.COST_AND_USAGE


@dataclass(frozen=True)
class CsvChunk:
    data: bytes


@dataclass(frozen=True)
class RowBatch:
    """Rows as cells in ``focus.COLUMNS`` order (timestamps ISO 8601, tags a JSON object, "" for empty)."""

    rows: list[list[str]]


ImportMessage = Header | CsvChunk | RowBatch


@dataclass
class ImportResult:
    rows_read: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    rejections: list[RowRejection] = field(default_factory=list)
    rows_replaced: int = 0
    billing_periods: list[str] = field(default_factory=list)
    billed_cost: Decimal = Decimal(0)
    columns: list[str] | None = None  # the CSV header (None for row batches)
    focus_version: str = ""  # declared by the metadata or detected from the columns; "" unknown
    # Billing periods the metadata says are not complete yet: provisional data, not final.
    provisional_periods: list[str] = field(default_factory=list)
    incomplete_sectors: list[TimeSector] = field(default_factory=list)


async def prepend(first: ImportMessage, rest: AsyncIterator[ImportMessage]) -> AsyncIterator[ImportMessage]:
    yield first
    async for message in rest:
        yield message


def refuse_if_all_or_nothing(header: Header, result: ImportResult) -> None:
    if header.mode is Mode.ALL_OR_NOTHING and result.rejections:
        violations = [
            FieldViolation(f"rows[{r.row}].{r.column}", r.message)
            for r in result.rejections[:MAX_REPORTED_VIOLATIONS]
        ]
        raise InvalidArgument(
            f"{result.rows_rejected} of {result.rows_read} rows are invalid; nothing was imported "
            "(mode ALL_OR_NOTHING)",
            violations,
            reason="INVALID_BILLING_ROWS",
        )


def second_header() -> InvalidArgument:
    return InvalidArgument(
        "an import has one header", [FieldViolation("header", "only the first message is a header")]
    )


def mixed() -> InvalidArgument:
    return InvalidArgument(
        "an import is either CSV or rows",
        [FieldViolation("content", "do not mix csv_chunk and rows messages")],
    )


def bad_csv(err: Exception, rows_read: int) -> InvalidArgument:
    if isinstance(err, UnicodeDecodeError):
        return InvalidArgument(
            "the CSV is not UTF-8", [FieldViolation("csv_chunk", f"invalid UTF-8 after data row {rows_read}")]
        )
    return InvalidArgument(
        "malformed CSV", [FieldViolation("csv_chunk", f"malformed CSV after data row {rows_read}: {err}")]
    )
