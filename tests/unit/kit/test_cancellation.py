"""A loop that logs and retries errors still stops when a library turns its cancellation into an error, and
a loop that waits for a wake-up with a timeout stops when cancelled just as it is woken."""

from __future__ import annotations

import asyncio

import pytest
from paved_kit.cancellation import raise_if_cancelling, wait_event


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


async def _wake_loop(event: asyncio.Event) -> None:
    while True:
        event.clear()
        await wait_event(event, 0.05)


async def test_a_waiting_loop_stops_when_cancelled_as_it_is_woken() -> None:
    # asyncio.wait_for on Python 3.11 returns the event's result and drops the cancellation when both
    # arrive in one loop iteration (a worker woken by its last operation ending, as a test stopped it).
    event = asyncio.Event()
    task = asyncio.create_task(_wake_loop(event))
    await asyncio.sleep(0.01)
    event.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)


async def test_wait_event_says_whether_the_event_was_set() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 0.01) is True
