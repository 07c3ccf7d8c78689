"""The heartbeat renews all of a worker's leases in one statement: only those it still holds on unfinished
operations are renewed and reported kept."""

from __future__ import annotations

from datetime import timedelta

from paved_kit.db import session_factory
from paved_provisioning import store
from paved_provisioning.models import Operation
from provisioning_harness import HarnessFactory


async def test_renewal_keeps_only_the_leases_still_held(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(worker=False)
    sessions = session_factory(h.engine)
    now = store.utcnow()
    soon, later = now + timedelta(seconds=5), now + timedelta(seconds=60)
    rows = {
        "mine": dict(lease_owner="me", done=False),
        "taken-over": dict(lease_owner="another worker", done=False),
        "ended": dict(lease_owner="me", done=True),
    }
    async with sessions() as session, session.begin():
        for op_id, values in rows.items():
            await store.add_operation(
                session=session,
                operation=Operation(
                    id=op_id, kind="provision", service=op_id, lease_expires_at=soon, **values
                ),
                steps=["register_catalog"],
            )

    async with sessions() as session, session.begin():
        kept = await store.renew_leases(
            session=session, operation_ids=list(rows), owner="me", lease_until=later
        )

    assert kept == {"mine"}
    async with sessions() as session:
        leases = {op_id: (await store.get_operation(session=session, operation_id=op_id)) for op_id in rows}
    assert store.aware(leases["mine"].lease_expires_at) == later  # type: ignore[union-attr]
    assert store.aware(leases["taken-over"].lease_expires_at) == soon  # type: ignore[union-attr]
    assert store.aware(leases["ended"].lease_expires_at) == soon  # type: ignore[union-attr]
