"""Workers claiming operations at the same time never claim the same one."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from paved_kit.db import create_engine, session_factory
from paved_provisioning import store
from paved_provisioning.app import prepare_schema
from paved_provisioning.models import Operation


async def test_concurrent_claims_are_disjoint_and_oldest_first(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await prepare_schema(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            for i in range(20):
                operation = Operation(id=f"op-{i:02d}", kind="provision", service=f"s{i}")
                await store.add_operation(session=session, operation=operation, steps=["one"])
        # Creation times are the submission order; a done operation and a leased one are not claimable.
        async with sessions() as session, session.begin():
            for i in range(20):
                await store.update_operation(
                    session=session,
                    operation_id=f"op-{i:02d}",
                    create_time=store.utcnow() - timedelta(seconds=100 - i),
                )
            await store.update_operation(session=session, operation_id="op-00", done=True)
            await store.update_operation(
                session=session,
                operation_id="op-01",
                lease_owner="elsewhere",
                lease_expires_at=store.utcnow() + timedelta(minutes=5),
            )

        async def claim(owner: str) -> list[str]:
            now = store.utcnow()
            async with sessions() as session, session.begin():
                return await store.claim_operations(
                    session=session, owner=owner, now=now, lease_until=now + timedelta(minutes=1), limit=12
                )

        first, second = await asyncio.gather(claim("w1"), claim("w2"))
        assert not set(first) & set(second)
        assert sorted(first + second) == [f"op-{i:02d}" for i in range(2, 20)]
        assert first == sorted(first) and second == sorted(second)
        async with sessions() as session:
            for owner, ids in (("w1", first), ("w2", second)):
                for operation_id in ids:
                    operation = await store.get_operation(session=session, operation_id=operation_id)
                    assert operation is not None and operation.lease_owner == owner
        assert await claim("w3") == []
    finally:
        await engine.dispose()


async def test_a_claim_skips_what_another_open_claim_holds_on_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        await prepare_schema(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            for i in range(6):
                operation = Operation(id=f"op-{i}", kind="provision", service=f"s{i}")
                await store.add_operation(session=session, operation=operation, steps=["one"])
        now = store.utcnow()
        until = now + timedelta(minutes=1)
        async with sessions() as held, held.begin():
            first = await store.claim_operations(
                session=held, owner="w1", now=now, lease_until=until, limit=4
            )
            # w1 has not committed: its rows are locked, and w2 takes the others instead of waiting.
            async with sessions() as session, session.begin():
                second = await asyncio.wait_for(
                    store.claim_operations(session=session, owner="w2", now=now, lease_until=until, limit=6),
                    5,
                )
        assert len(first) == 4 and len(second) == 2
        assert sorted(first + second) == [f"op-{i}" for i in range(6)]
    finally:
        await engine.dispose()
