"""Step boundaries of operations waiting at the same time share one transaction; a failing one fails
alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from paved_kit.db import create_engine, create_schema, model_registry, session_factory
from paved_provisioning import store
from paved_provisioning.app import prepare_schema
from paved_provisioning.grouped_transactions import Boundary, Ending, GroupedTransactions
from paved_provisioning.models import Operation
from sqlalchemy import Column, Integer, Table, event, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

_, METADATA = model_registry("GroupedBase")
MARKS = Table("marks", METADATA, Column("value", Integer, primary_key=True))


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on provisioning's schema."""
    engine = create_engine(database_url)
    try:
        await prepare_schema(engine)
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def _add_operations(sessions: async_sessionmaker[AsyncSession], names: str, steps: list[str]) -> None:
    async with sessions() as session, session.begin():
        for name in names:
            operation = Operation(id=name, kind="provision", service=name)
            await store.add_operation(session=session, operation=operation, steps=steps)


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


async def test_step_boundaries_and_loads_of_several_operations_are_written_together(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add_operations(sessions, "abc", ["one", "two", "three"])
    async with sessions() as session, session.begin():
        await store.update_operation(session=session, operation_id="c", cancel_requested=True)
    grouped = GroupedTransactions(sessions)
    now = store.utcnow()

    def boundary(operation_id: str, *, first: bool) -> Boundary:
        if first:
            return Boundary(operation_id, [], [store.StepStart(operation_id, 0, 1, now)], mark_running=True)
        done = store.FinishedStep(operation_id, 0, "succeeded", "did one", {"n": 1}, now)
        starts = [store.StepStart(operation_id, p, 1, now) for p in (1, 2)]
        return Boundary(operation_id, [done], starts)

    started = await asyncio.gather(*(grouped.cross(boundary(o, first=True)) for o in "abc"))
    assert started == [True, True, False]  # c's cancellation was asked for: nothing of it started
    started = await asyncio.gather(*(grouped.cross(boundary(o, first=False)) for o in "ab"))
    assert started == [True, True]

    loaded = await asyncio.gather(*(grouped.load(o) for o in ("a", "c", "missing")))
    (a, a_steps), (c, c_steps), (missing, no_steps) = loaded
    assert a is not None and a.state == "running"
    assert [(s.state, s.attempts, s.output) for s in a_steps] == [
        ("succeeded", 1, {"n": 1}),
        ("running", 1, {}),
        ("running", 1, {}),
    ]
    assert c is not None and c.state == "pending"
    assert [s.state for s in c_steps] == ["pending"] * 3
    assert missing is None and no_steps == []


async def test_the_ends_of_operations_waiting_together_share_a_statement_per_table(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add_operations(sessions, "abc", ["one"])
    updates: list[str] = []

    @event.listens_for(sessions.kw["bind"].sync_engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement.split()[1])

    now = store.utcnow()

    def ending(operation_id: str) -> Ending:
        done = store.FinishedStep(operation_id, 0, "succeeded", "did one", {"n": 1}, now)

        async def writes(session: AsyncSession) -> list[store.RowUpdate]:
            return [store.operation_update(operation_id, done=True, state="succeeded", result={"x": 1})]

        return Ending(operation_id, [done], writes)

    grouped = GroupedTransactions(sessions)
    await asyncio.gather(*(grouped.end(ending(o)) for o in "abc"))
    assert sorted(updates) == ["operation_steps", "operations"]
    for name in "abc":
        operation, steps = await grouped.load(name)
        assert operation is not None and operation.done and operation.result == {"x": 1}
        assert [s.state for s in steps] == ["succeeded"]


async def test_row_updates_of_one_row_are_written_in_their_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _add_operations(sessions, "ab", [])
    async with sessions() as session, session.begin():
        await store.update_rows(
            session=session,
            updates=[
                store.operation_update("a", state="running", error_message="first"),
                store.operation_update("b", state="running"),
                store.operation_update("a", state="failed"),
                store.operation_update("a", state="succeeded", error_message=""),
                store.operation_update("b", state="failed"),
            ],
        )
    async with sessions() as session:
        a = await store.get_operation(session=session, operation_id="a")
        b = await store.get_operation(session=session, operation_id="b")
    assert a is not None and (a.state, a.error_message) == ("succeeded", "")
    assert b is not None and b.state == "failed"
