"""Billing import: a stream of FOCUS CSV chunks or rows into the database, replacing earlier imports.

One import is one transaction: earlier rows of the same source and billing period are deleted and the
new ones written, so a re-import replaces and never doubles, and a refused import changes nothing.
CSV on PostgreSQL is parsed by the database (:mod:`paved_cost.staged_import`); everything else is
parsed in Python (:mod:`paved_cost.python_import`). Both apply the rules of :mod:`paved_cost.focus`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

from paved_kit.errors import FieldViolation, InvalidArgument
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import store
from paved_cost.attribution import Attribution
from paved_cost.billing_import import (
    SOURCE,
    CsvChunk,
    Dataset,
    Header,
    ImportMessage,
    ImportResult,
    Mode,
    RowBatch,
    prepend,
)
from paved_cost.commitment_import import import_commitments
from paved_cost.focus_metadata import detect_version, parse_metadata, provisional_periods
from paved_cost.python_import import PythonImport

__all__ = [
    "BillingImporter",
    "CsvChunk",
    "Dataset",
    "Header",
    "ImportMessage",
    "ImportResult",
    "Mode",
    "RowBatch",
]


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
        if not SOURCE.match(header.source):
            raise InvalidArgument(
                "invalid import header",
                [FieldViolation("header.source", "must be 1-200 characters: letters, digits, . _ : / @ -")],
            )
        # Bad metadata is refused before anything is read or changed.
        metadata = parse_metadata(header.metadata)
        first = await anext(messages, None)
        if first is not None:
            messages = prepend(first, messages)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            if header.dataset is Dataset.CONTRACT_COMMITMENT:
                result = await import_commitments(session, header, messages, now)
            elif (
                self._parse_in_database
                and isinstance(first, CsvChunk)
                and session.get_bind().dialect.name == "postgresql"
            ):
                # Imported here: the COPY path brings in asyncpg, which a process on SQLite never needs.
                from paved_cost.staged_import import import_in_database

                result = await import_in_database(
                    session, header, messages, self._attribution, currency=self._currency, now=now
                )
            else:
                python = PythonImport(
                    session, self._attribution, currency=self._currency, batch_rows=self._batch_rows, now=now
                )
                result = await python.run(header, messages)
            await store.refresh_report_statistics(session=session)
        if header.dataset is Dataset.CONTRACT_COMMITMENT:
            result.focus_version = metadata.version or "1.3"  # the dataset is new in FOCUS 1.3
        elif result.columns is not None:
            result.focus_version = detect_version(result.columns, metadata.version)
        else:
            result.focus_version = metadata.version or ""
        result.incomplete_sectors = metadata.incomplete()
        result.provisional_periods = provisional_periods(result.billing_periods, metadata)
        return result
