"""Cancellation that a library turned into its own error, or that a timeout swallowed."""

from __future__ import annotations

import asyncio
import contextlib


def raise_if_cancelling() -> None:
    """Call inside ``except Exception``: re-raise as a cancellation when the running task is being cancelled.

    A database driver can turn a cancellation that lands mid-connect into its own error; a loop that logs
    such errors and tries again would then never stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` have passed; returns whether it is set.

    Not ``asyncio.wait_for``: on Python 3.11 a cancellation that arrives in the same loop iteration as the
    event is swallowed there (the wait returns as if set), and a loop waiting on it never stops."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
