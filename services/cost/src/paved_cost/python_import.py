"""Billing import parsed in Python: any database, CSV chunks or row batches.

Rows are parsed and checked here (:mod:`paved_cost.focus`), batches go to a writer task (COPY on
PostgreSQL, bulk inserts on SQLite) while the next ones are parsed, and the daily totals are summed on
the way. Earlier rows of a (source, billing period) are deleted when the period is first seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import store
from paved_cost.attribution import Attribution
from paved_cost.billing_import import (
    CsvChunk,
    Header,
    ImportMessage,
    ImportResult,
    Mode,
    bad_csv,
    mixed,
    refuse_if_all_or_nothing,
    second_header,
)
from paved_cost.focus import (
    COLUMNS,
    MAX_REJECTIONS,
    BillingRecord,
    CsvChunkReader,
    RowError,
    RowParser,
    RowRejection,
    header_index,
)

ROW_INDEX = {column: position for position, column in enumerate(COLUMNS)}


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


class PythonImport:
    """One import parsed in Python inside the caller's transaction."""

    def __init__(
        self,
        session: AsyncSession,
        attribution: Attribution,
        *,
        currency: str,
        batch_rows: int,
        now: datetime,
    ) -> None:
        self._session = session
        self._attribution = attribution
        self._currency = currency
        self._batch_rows = batch_rows
        self._now = now

    async def run(self, header: Header, messages: AsyncIterator[ImportMessage]) -> ImportResult:
        session = self._session
        writer = _Writer(session, header.source, self._now)
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
        refuse_if_all_or_nothing(header, result)
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
                raise second_header()
            if isinstance(message, CsvChunk):
                if row_parser is not None:
                    raise mixed()
                if csv_reader is None:
                    csv_reader = CsvChunkReader()
                try:
                    rows = list(csv_reader.feed(message.data))
                except (csv.Error, UnicodeDecodeError) as err:
                    raise bad_csv(err, result.rows_read) from None
                if csv_parser is None and csv_reader.header is not None:
                    result.columns = csv_reader.header
                    csv_parser = self._parser(header, header_index(csv_reader.header))
                for cells in rows:
                    assert csv_parser is not None
                    take(csv_parser, cells)
                    if len(batch) >= self._batch_rows:
                        await flush()
            else:
                if csv_reader is not None:
                    raise mixed()
                if row_parser is None:
                    row_parser = self._parser(header, ROW_INDEX)
                for cells in message.rows:
                    take(row_parser, cells)
                await flush()
        if csv_reader is not None:
            try:
                rest = list(csv_reader.finish())
            except (csv.Error, UnicodeDecodeError) as err:
                raise bad_csv(err, result.rows_read) from None
            if csv_parser is None and csv_reader.header is not None:
                result.columns = csv_reader.header
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
