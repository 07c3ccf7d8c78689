"""A worker in another process starts a submitted operation at once on PostgreSQL (LISTEN/NOTIFY), not at
its next poll. PostgreSQL only: on SQLite one worker runs, woken in its own process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from paved_kit.db import create_engine, is_postgres
from paved_provisioning.app import build_components
from provisioning_harness import HarnessFactory

POLL_SECONDS = 60.0


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


async def test_a_submission_wakes_a_worker_of_another_process(harness_factory: HarnessFactory) -> None:
    # The API's own worker does not run, so only the other "process" (its own engine, pool and worker)
    # can take the operation; it polls once a minute.
    harness = await harness_factory(worker=False, poll_interval_seconds=POLL_SECONDS)
    engine = create_engine(harness.settings.database_url)
    assert is_postgres(engine)
    other = build_components(harness.settings, engine, worker_name="other-process")
    assert other.worker.listen is not None
    task: asyncio.Task[Any] = asyncio.create_task(other.worker.run())
    try:
        await asyncio.sleep(0.5)  # it has polled once and found nothing; it now waits for a minute
        started = time.monotonic()
        op = await harness.provision("orders")
        done = await harness.wait(op.name, within=20)
        elapsed = time.monotonic() - started
        assert done.done and not done.HasField("error"), done
        assert elapsed < POLL_SECONDS / 4, f"took {elapsed:.1f} s: the worker waited for its poll"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await other.peers.close()
        await engine.dispose()
