"""Billing import: a stream of FOCUS CSV chunks or rows into the database, replacing earlier imports.

One import is one transaction: earlier rows of the same source and billing period are deleted and the
new ones written, so a re-import replaces and never doubles, and a refused import changes nothing.
Parsing and writing overlap: batches go to a writer task while the next ones are parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import asyncpg
from paved_kit.errors import FieldViolation, InvalidArgument
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import staging, store
from paved_cost.attribution import Attribution
from paved_cost.focus import (
    COLUMNS,
    MAX_REJECTIONS,
    BillingRecord,
    CsvChunkReader,
    RowError,
    RowParser,
    RowRejection,
    check_mandatory,
    first_record_end,
    header_index,
    normalize_tags,
)

_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$")
ROW_INDEX = {column: position for position, column in enumerate(COLUMNS)}
MAX_REPORTED_VIOLATIONS = 100


class Mode(Enum):
    ALL_OR_NOTHING = "all_or_nothing"
    SKIP_INVALID = "skip_invalid"


@dataclass(frozen=True)
class Header:
    source: str
    mode: Mode
    null_token: str = ""


@dataclass(frozen=True)
class CsvChunk:
    data: bytes


@dataclass(frozen=True)
class RowBatch:
    """Rows as cells in :data:`COLUMNS` order (timestamps ISO 8601, tags a JSON object, "" for empty)."""

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


class _Writer:
    """Owns the session during an import: claims billing periods on first sight, then appends rows."""

    def __init__(self, session: AsyncSession, source: str, now: datetime) -> None:
        self.session = session
        self.source = source
        self.now = now
        self.claimed: set[str] = set()
        self.replaced = 0
        self.queue: asyncio.Queue[list[BillingRecord] | None] = asyncio.Queue(maxsize=3)
        self.task: asyncio.Task[None] | None = None

    async def submit(self, batch: list[BillingRecord] | None) -> None:
        """Queue a batch (None ends the import); a failed writer raises here instead of blocking forever."""
        assert self.task is not None
        put = asyncio.ensure_future(self.queue.put(batch))
        done, _ = await asyncio.wait({put, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if put not in done:
            put.cancel()
            self.task.result()

    async def run(self) -> None:
        while (batch := await self.queue.get()) is not None:
            for period in {record.billing_period for record in batch} - self.claimed:
                self.replaced += await store.claim_billing_period(
                    session=self.session, source=self.source, billing_period=period, now=self.now
                )
                self.claimed.add(period)
            await store.insert_billing_records(session=self.session, records=batch)


class BillingImporter:
    """Runs imports; ``clock`` gives the import time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        attribution: Attribution,
        *,
        currency: str,
        batch_rows: int,
        clock: Callable[[], datetime],
        parse_in_database: bool = True,
    ) -> None:
        self._parse_in_database = parse_in_database
        self._sessions = sessions
        self._attribution = attribution
        self._currency = currency
        self._batch_rows = batch_rows
        self._clock = clock

    async def run(self, messages: AsyncIterator[ImportMessage]) -> ImportResult:
        header = await anext(messages, None)
        if not isinstance(header, Header):
            raise InvalidArgument(
                "an import starts with a header",
                [FieldViolation("header", "the first message must be a header")],
            )
        if not _SOURCE.match(header.source):
            raise InvalidArgument(
                "invalid import header",
                [FieldViolation("header.source", "must be 1-200 characters: letters, digits, . _ : / @ -")],
            )
        first = await anext(messages, None)
        if first is not None:
            messages = _prepend(first, messages)
        async with self._sessions() as session, session.begin():
            if (
                self._parse_in_database
                and isinstance(first, CsvChunk)
                and session.get_bind().dialect.name == "postgresql"
            ):
                return await self._run_staged(session, header, messages)
            writer = _Writer(session, header.source, self._clock())
            task = writer.task = asyncio.create_task(writer.run())
            try:
                result, daily = await self._parse(header, messages, writer)
                await writer.submit(None)
                await task
            finally:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            _refuse_if_all_or_nothing(header, result)
            await store.insert_daily_costs(
                session=session,
                rows=(
                    {
                        "source": header.source,
                        "billing_period": period,
                        "day": day,
                        "service": service,
                        "team": team,
                        "currency": currency,
                        "effective_cost": sums[0],
                        "billed_cost": sums[1],
                        "rows": sums[2],
                    }
                    for (period, day, service, team, currency), sums in daily.items()
                ),
            )
            rows_per_period: dict[str, int] = defaultdict(int)
            for (period, *_), sums in daily.items():
                rows_per_period[period] += sums[2]
            for period, rows in rows_per_period.items():
                await store.set_import_rows(
                    session=session, source=header.source, billing_period=period, rows=rows
                )
            result.rows_replaced = writer.replaced
            result.billing_periods = sorted(writer.claimed)
        return result

    async def _run_staged(
        self, session: AsyncSession, header: Header, messages: AsyncIterator[ImportMessage]
    ) -> ImportResult:
        """PostgreSQL and CSV: PostgreSQL parses and validates (see :mod:`paved_cost.staging`)."""
        buffered = b""
        cut = 0
        async for message in messages:
            if not isinstance(message, CsvChunk):
                raise _mixed() if isinstance(message, RowBatch) else _second_header()
            buffered += message.data
            cut = first_record_end(buffered)
            if cut:
                break
        if not cut:
            cut = len(buffered)
        try:
            header_line = buffered[:cut].decode("utf-8-sig")
            columns = next(csv.reader(io.StringIO(header_line, newline="")), [])
        except (UnicodeDecodeError, csv.Error) as err:
            raise _bad_csv(err, 0) from None
        index = header_index(columns)
        check_mandatory(index)
        stage = staging.Stage(session, len(columns), index, header.null_token)
        await stage.create()

        async def csv_bytes() -> AsyncIterator[bytes]:
            yield buffered
            async for message in messages:
                if not isinstance(message, CsvChunk):
                    raise _mixed() if isinstance(message, RowBatch) else _second_header()
                yield message.data

        try:
            await stage.copy(csv_bytes())
        except asyncpg.DataError as err:
            raise _bad_copy(err) from None
        result = ImportResult(rows_read=await stage.rows_read())
        entries: list[tuple[str, bool, str | None, str | None, str | None]] = []
        for raw in await stage.distinct_tags():
            try:
                entries.append((raw, True, *normalize_tags(raw, self._attribution)))
            except RowError:
                entries.append((raw, False, None, None, None))
        await stage.load_tag_map(entries)
        try:
            result.rows_rejected, result.rejections = await stage.validate(self._currency)
        except DBAPIError as err:
            raise _bad_copy(err) from None
        _refuse_if_all_or_nothing(header, result)
        now = self._clock()
        periods = await stage.billing_periods()
        for period in periods:
            result.rows_replaced += await store.claim_billing_period(
                session=session, source=header.source, billing_period=period, now=now
            )
        rows_per_period, result.billed_cost = await stage.publish(header.source, self._currency)
        result.rows_imported = sum(rows_per_period.values())
        for period, rows in rows_per_period.items():
            await store.set_import_rows(
                session=session, source=header.source, billing_period=period, rows=rows
            )
        result.billing_periods = periods
        return result

    async def _parse(
        self, header: Header, messages: AsyncIterator[ImportMessage], writer: _Writer
    ) -> tuple[ImportResult, dict[tuple[Any, ...], list[Any]]]:
        result = ImportResult()
        daily: dict[tuple[Any, ...], list[Any]] = {}
        keep = True
        all_or_nothing = header.mode is Mode.ALL_OR_NOTHING
        csv_reader: CsvChunkReader | None = None
        csv_parser: RowParser | None = None
        row_parser: RowParser | None = None
        batch: list[BillingRecord] = []
        billed_total = Decimal(0)

        def take(parser: RowParser, cells: list[str]) -> None:
            nonlocal keep, billed_total
            result.rows_read += 1
            try:
                record = parser.parse(cells)
            except RowError as err:
                result.rows_rejected += 1
                if len(result.rejections) < MAX_REJECTIONS:
                    result.rejections.append(RowRejection(result.rows_read, err.column, err.message))
                if all_or_nothing:
                    keep = False
                return
            if not keep:
                return
            batch.append(record)
            result.rows_imported += 1
            if record.billing_currency == self._currency:
                billed_total += record.billed_cost
            key = (
                record.billing_period,
                record.charge_period_start.date(),
                record.service,
                record.team,
                record.billing_currency,
            )
            sums = daily.get(key)
            if sums is None:
                daily[key] = [record.effective_cost, record.billed_cost, 1]
            else:
                sums[0] += record.effective_cost
                sums[1] += record.billed_cost
                sums[2] += 1

        async def flush(force: bool = False) -> None:
            nonlocal batch
            if batch and (force or len(batch) >= self._batch_rows):
                await writer.submit(batch)
                batch = []

        async for message in messages:
            if isinstance(message, Header):
                raise InvalidArgument(
                    "an import has one header",
                    [FieldViolation("header", "only the first message is a header")],
                )
            if isinstance(message, CsvChunk):
                if row_parser is not None:
                    raise _mixed()
                if csv_reader is None:
                    csv_reader = CsvChunkReader()
                try:
                    rows = list(csv_reader.feed(message.data))
                except (csv.Error, UnicodeDecodeError) as err:
                    raise _bad_csv(err, result.rows_read) from None
                if csv_parser is None and csv_reader.header is not None:
                    csv_parser = self._parser(header, header_index(csv_reader.header))
                for cells in rows:
                    assert csv_parser is not None
                    take(csv_parser, cells)
                    if len(batch) >= self._batch_rows:
                        await flush()
            else:
                if csv_reader is not None:
                    raise _mixed()
                if row_parser is None:
                    row_parser = self._parser(header, ROW_INDEX)
                for cells in message.rows:
                    take(row_parser, cells)
                await flush()
        if csv_reader is not None:
            try:
                rest = list(csv_reader.finish())
            except (csv.Error, UnicodeDecodeError) as err:
                raise _bad_csv(err, result.rows_read) from None
            if csv_parser is None and csv_reader.header is not None:
                csv_parser = self._parser(header, header_index(csv_reader.header))
            for cells in rest:
                assert csv_parser is not None
                take(csv_parser, cells)
        await flush(force=True)
        result.billed_cost = billed_total
        if not keep:
            result.rows_imported = 0
        return result, daily

    def _parser(self, header: Header, index: dict[str, int]) -> RowParser:
        return RowParser(
            header.source,
            index,
            self._attribution,
            null_token=header.null_token,
            default_currency=self._currency,
        )


async def _prepend(first: ImportMessage, rest: AsyncIterator[ImportMessage]) -> AsyncIterator[ImportMessage]:
    yield first
    async for message in rest:
        yield message


def _refuse_if_all_or_nothing(header: Header, result: ImportResult) -> None:
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


def _second_header() -> InvalidArgument:
    return InvalidArgument(
        "an import has one header", [FieldViolation("header", "only the first message is a header")]
    )


def _bad_copy(err: Exception) -> InvalidArgument:
    """A data error PostgreSQL found in the CSV; its message and position describe the user's data only."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, asyncpg.PostgresError):
        cause = cause.__cause__ or getattr(cause, "orig", None)
    if not isinstance(cause, asyncpg.DataError):
        raise err
    where = f" ({cause.where})" if getattr(cause, "where", None) else ""
    return InvalidArgument("malformed CSV", [FieldViolation("csv_chunk", f"{cause.message}{where}")])


def _mixed() -> InvalidArgument:
    return InvalidArgument(
        "an import is either CSV or rows",
        [FieldViolation("content", "do not mix csv_chunk and rows messages")],
    )


def _bad_csv(err: Exception, rows_read: int) -> InvalidArgument:
    if isinstance(err, UnicodeDecodeError):
        return InvalidArgument(
            "the CSV is not UTF-8", [FieldViolation("csv_chunk", f"invalid UTF-8 after data row {rows_read}")]
        )
    return InvalidArgument(
        "malformed CSV", [FieldViolation("csv_chunk", f"malformed CSV after data row {rows_read}: {err}")]
    )
