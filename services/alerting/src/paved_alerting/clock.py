"""Where "now" comes from: the system clock in production, a clock the tests move by hand."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Source of the current time, in seconds since the epoch."""

    def now(self) -> float:
        """The current time."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """The current time."""
        return time.time()


class ManualClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: float) -> None:
        self._now = start

    def now(self) -> float:
        """The time the clock was last set to."""
        return self._now

    def set(self, when: float) -> None:
        """Jump to ``when``."""
        self._now = when

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds``; returns the new time."""
        self._now += seconds
        return self._now
