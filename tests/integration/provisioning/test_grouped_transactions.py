"""Step boundaries of operations waiting at the same time share one transaction; a failing one fails
alone."""

from __future__ import annotations

import asyncio

from paved_kit.db import create_engine, create_schema, model_registry, session_factory
from paved_provisioning.grouped_transactions import GroupedTransactions
from sqlalchemy import Column, Integer, Table, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

_, METADATA = model_registry("GroupedBase")
MARKS = Table("marks", METADATA, Column("value", Integer, primary_key=True))


async def test_work_waiting_together_shares_a_transaction_and_a_failure_stays_its_own(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await create_schema(engine, METADATA)
        grouped = GroupedTransactions(session_factory(engine))
        sessions: list[AsyncSession] = []

        def mark(value: int):  # type: ignore[no-untyped-def]
            async def work(session: AsyncSession) -> int:
                sessions.append(session)
                await (await session.connection()).execute(insert(MARKS).values(value=value))
                if value == 3:
                    raise RuntimeError("this one fails")
                return value

            return work

        results = await asyncio.gather(*(grouped.run(mark(v)) for v in range(6)), return_exceptions=True)
        assert results[:3] == [0, 1, 2] and results[4:] == [4, 5]
        assert isinstance(results[3], RuntimeError)
        # The six were tried in one transaction, which failed at the fourth; then each ran in its own.
        assert len(sessions) == 4 + 6
        assert len({id(s) for s in sessions[:4]}) == 1
        assert len({id(s) for s in sessions[4:]}) == 6
        async with session_factory(engine)() as session:
            values = (await (await session.connection()).execute(select(MARKS.c.value))).scalars().all()
        assert sorted(values) == [0, 1, 2, 4, 5]

        sessions.clear()
        assert await asyncio.gather(*(grouped.run(mark(v)) for v in (10, 11, 12))) == [10, 11, 12]
        assert len({id(s) for s in sessions}) == 1
    finally:
        await engine.dispose()
