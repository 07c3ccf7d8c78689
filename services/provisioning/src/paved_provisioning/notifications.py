"""New work announced over PostgreSQL LISTEN/NOTIFY: a submission notifies when its transaction commits,
and every worker process listening looks for work at once instead of at its next poll.

Polling stays as the safety net (an expired lease announces nothing, and a notification sent while a
listener reconnects is lost), so a listener that fails only makes a worker as slow as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from paved_kit.cancellation import raise_if_cancelling
from paved_kit.logging import get_logger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_log = get_logger(__name__)

CHANNEL = "paved_provisioning_operations"
# Delivered at commit, and not at all when the transaction rolls back; equal notifications of one
# transaction are folded into one.
NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")


async def listen(engine: AsyncEngine, wake: Callable[[], None], *, retry_seconds: float) -> None:
    """Call ``wake`` on every notification until cancelled, on one connection of ``engine`` held for it;
    after a lost connection, listen again ``retry_seconds`` later (and wake, for what was missed)."""
    while True:
        try:
            await _listen_once(engine, wake)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the server restarted, the connection broke: poll meanwhile
            raise_if_cancelling()
            _log.warning("listening for new operations failed; polling until it works again", error=str(exc))
        await asyncio.sleep(retry_seconds)


async def _listen_once(engine: AsyncEngine, wake: Callable[[], None]) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        lost = asyncio.Event()

        def notified(*_args: object) -> None:
            wake()

        def terminated(*_args: object) -> None:
            lost.set()

        await driver.add_listener(CHANNEL, notified)
        driver.add_termination_listener(terminated)
        try:
            wake()  # what was submitted while nobody listened
            await lost.wait()
        finally:
            driver.remove_termination_listener(terminated)
            if not lost.is_set():
                # UNLISTEN before the connection goes back to the pool, or its next user would be woken.
                with contextlib.suppress(Exception):
                    await asyncio.shield(driver.remove_listener(CHANNEL, notified))
        await connection.invalidate()
