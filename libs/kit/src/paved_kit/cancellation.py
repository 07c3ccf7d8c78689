"""Cancellation that a library turned into its own error."""

from __future__ import annotations

import asyncio


def raise_if_cancelling() -> None:
    """Call inside ``except Exception``: re-raise as a cancellation when the running task is being cancelled.

    A database driver can turn a cancellation that lands mid-connect into its own error; a loop that logs
    such errors and tries again would then never stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
