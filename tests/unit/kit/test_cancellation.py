"""A loop that logs and retries errors still stops when a library turns its cancellation into an error."""

from __future__ import annotations

import asyncio

import pytest
from paved_kit.cancellation import raise_if_cancelling


async def _converting_call() -> None:
    """Like a driver cancelled mid-connect: the cancellation comes back as the driver's own error."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        raise ConnectionError("connection was closed in the middle of operation") from None


async def _retry_loop() -> None:
    # Without the guard this loop never ends: the cancellation arrives as a ConnectionError.
    while True:
        try:
            await _converting_call()
        except Exception:
            raise_if_cancelling()
        await asyncio.sleep(0)


async def test_a_guarded_loop_stops_when_cancelled() -> None:
    task = asyncio.create_task(_retry_loop())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)


async def test_an_error_without_a_cancellation_is_left_to_the_caller() -> None:
    try:
        raise ConnectionError("refused")
    except ConnectionError:
        raise_if_cancelling()  # nothing raised: the loop logs and retries
