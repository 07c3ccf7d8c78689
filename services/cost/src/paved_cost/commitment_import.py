"""Import of the FOCUS 1.3 Contract Commitment dataset: CSV chunks in, one source's commitments replaced.

The dataset is small (one row per contract term), so it is parsed in Python on every database. Like a
billing import it is one transaction: a refused import changes nothing, a re-import replaces.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import datetime

from paved_kit.errors import FieldViolation, InvalidArgument
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import contract_commitments, store
from paved_cost.billing_import import (
    CsvChunk,
    Header,
    ImportMessage,
    ImportResult,
    Mode,
    bad_csv,
    refuse_if_all_or_nothing,
    second_header,
)
from paved_cost.contract_commitments import Commitment
from paved_cost.focus import MAX_REJECTIONS, CsvChunkReader, RowError, RowRejection


async def import_commitments(
    session: AsyncSession, header: Header, messages: AsyncIterator[ImportMessage], now: datetime
) -> ImportResult:
    result = ImportResult()
    reader = CsvChunkReader()
    index: dict[str, int] | None = None
    kept: dict[str, Commitment] = {}

    def take(cells: list[str]) -> None:
        assert index is not None
        result.rows_read += 1
        try:
            commitment = contract_commitments.parse_row(cells, index, header.null_token)
            if commitment.contract_commitment_id in kept:
                raise RowError("ContractCommitmentId", "appears twice in the data")
        except RowError as err:
            result.rows_rejected += 1
            if len(result.rejections) < MAX_REJECTIONS:
                result.rejections.append(RowRejection(result.rows_read, err.column, err.message))
            return
        kept[commitment.contract_commitment_id] = commitment

    async for message in messages:
        if isinstance(message, Header):
            raise second_header()
        if not isinstance(message, CsvChunk):
            raise InvalidArgument(
                "the contract commitment dataset is imported as CSV",
                [FieldViolation("content", "send csv_chunk messages, not rows")],
            )
        try:
            rows = list(reader.feed(message.data))
        except (csv.Error, UnicodeDecodeError) as err:
            raise bad_csv(err, result.rows_read) from None
        index = _index(reader, index)
        for cells in rows:
            take(cells)
    try:
        rest = list(reader.finish())
    except (csv.Error, UnicodeDecodeError) as err:
        raise bad_csv(err, result.rows_read) from None
    index = _index(reader, index)
    for cells in rest:
        take(cells)
    if index is None:
        raise InvalidArgument("no data", [FieldViolation("csv_chunk", "the CSV has no header line")])
    result.columns = reader.header
    refuse_if_all_or_nothing(header, result)
    if header.mode is Mode.ALL_OR_NOTHING or kept:
        result.rows_replaced = await store.replace_contract_commitments(
            session=session, source=header.source, commitments=list(kept.values()), now=now
        )
    result.rows_imported = len(kept)
    return result


def _index(reader: CsvChunkReader, index: dict[str, int] | None) -> dict[str, int] | None:
    if index is None and reader.header is not None:
        index = contract_commitments.header_index(reader.header)
        contract_commitments.check_header(index)
    return index
