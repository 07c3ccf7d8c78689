"""Billing import parsed by PostgreSQL: CSV streamed into COPY, checked and stored in SQL.

See :mod:`paved_cost.staging` for the statements. Python only reads the header line, attributes the
distinct tag sets, and claims the billing periods (deleting an earlier import's rows) before publishing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import asyncpg
from paved_kit.errors import FieldViolation, InvalidArgument
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import staging, store
from paved_cost.attribution import Attribution
from paved_cost.billing_import import (
    CsvChunk,
    Header,
    ImportMessage,
    ImportResult,
    RowBatch,
    bad_csv,
    mixed,
    refuse_if_all_or_nothing,
    second_header,
)
from paved_cost.focus import RowError, check_mandatory, first_record_end, header_index, normalize_tags
from paved_cost.staging import is_data_error

_COPY_LINE = re.compile(r"line (\d+)")


def bad_copy(err: Exception) -> InvalidArgument:
    """A data error PostgreSQL found in the CSV; its message and position describe the user's data only."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, asyncpg.PostgresError):
        cause = cause.__cause__ or getattr(cause, "orig", None)
    if not isinstance(cause, asyncpg.DataError):
        raise err
    # PostgreSQL names the line of the COPY input (the header is line 1), never our table to the caller.
    line = _COPY_LINE.search(getattr(cause, "where", None) or "")
    where = f" (CSV line {line.group(1)})" if line else ""
    return InvalidArgument("malformed CSV", [FieldViolation("csv_chunk", f"{cause.message}{where}")])


async def import_in_database(
    session: AsyncSession,
    header: Header,
    messages: AsyncIterator[ImportMessage],
    attribution: Attribution,
    *,
    currency: str,
    now: datetime,
) -> ImportResult:
    """Run one CSV import inside the caller's PostgreSQL transaction."""
    buffered = b""
    cut = 0
    async for message in messages:
        if not isinstance(message, CsvChunk):
            raise mixed() if isinstance(message, RowBatch) else second_header()
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
        raise bad_csv(err, 0) from None
    index = header_index(columns)
    check_mandatory(index)
    stage = staging.Stage(session, len(columns), index, header.null_token)
    await stage.create()

    async def csv_bytes() -> AsyncIterator[bytes]:
        yield buffered
        async for message in messages:
            if not isinstance(message, CsvChunk):
                raise mixed() if isinstance(message, RowBatch) else second_header()
            yield message.data

    try:
        await stage.copy(csv_bytes())
    except asyncpg.DataError as err:
        raise bad_copy(err) from None
    result = ImportResult(rows_read=await stage.rows_read(), columns=columns)
    entries: list[tuple[str, str | None, str | None, str | None, str | None]] = []
    for key, tags, allocated in await stage.distinct_tags():
        try:
            entries.append((key, None, *normalize_tags(tags, attribution, allocated)))
        except RowError as err:
            entries.append((key, err.column, None, None, None))
    await stage.load_tag_map(entries)
    published = None
    try:
        # Optimistic: good data is checked and stored in one pass.
        async with session.begin_nested():
            published = await _publish(session, stage, header, currency, now, exclude_bad=False)
    except DBAPIError as err:
        if not is_data_error(err):
            raise
    if published is None or sum(published[1].values()) != result.rows_read:
        # Some rows are bad: name them, then (unless refused) store the others if not stored yet.
        try:
            result.rows_rejected, result.rejections = await stage.validate(currency)
        except DBAPIError as err:
            raise bad_copy(err) from None
        refuse_if_all_or_nothing(header, result)
        if published is None:
            published = await _publish(session, stage, header, currency, now, exclude_bad=True)
    result.rows_replaced, rows_per_period, result.billed_cost = published
    result.rows_imported = sum(rows_per_period.values())
    result.billing_periods = sorted(rows_per_period)
    return result


async def _publish(
    session: AsyncSession,
    stage: staging.Stage,
    header: Header,
    currency: str,
    now: datetime,
    exclude_bad: bool,
) -> tuple[int, dict[str, int], Decimal]:
    """Claim the billing periods (dropping an earlier import's rows), then store; returns what changed."""
    replaced = 0
    for period in await stage.billing_periods(exclude_bad):
        replaced += await store.claim_billing_period(
            session=session, source=header.source, billing_period=period, now=now
        )
    rows_per_period, billed = await stage.publish(header.source, currency, exclude_bad)
    for period, rows in rows_per_period.items():
        await store.set_import_rows(session=session, source=header.source, billing_period=period, rows=rows)
    return replaced, rows_per_period, billed
