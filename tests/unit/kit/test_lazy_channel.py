"""LazyChannel opens nothing until used, reuses its channel, and opens a fresh one after close."""

from __future__ import annotations

from paved_kit.client import LazyChannel
from paved_kit.testing import EphemeralServerSettings


async def test_opens_on_first_use_and_reopens_after_close() -> None:
    lazy = LazyChannel("127.0.0.1:1", EphemeralServerSettings())
    first = lazy.get()
    assert lazy.get() is first
    await lazy.close()
    await lazy.close()  # closing twice is harmless
    second = lazy.get()
    assert second is not first
    await lazy.close()
