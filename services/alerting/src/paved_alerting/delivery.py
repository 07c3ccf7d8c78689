"""Delivers notifications from the outbox: POSTs each, retries failures with exponential backoff and jitter.

Notifications are rows written together with the alert state they report, so a crash or restart loses
none: the next dispatcher finds them due and sends them. Delivery is at least once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from paved_kit.cancellation import raise_if_cancelling, wait_event
from paved_kit.logging import get_logger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_alerting import store
from paved_alerting.http_client import HttpClient
from paved_alerting.models import OutboxRow

_log = get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How failed deliveries are retried."""

    initial_seconds: float = 1.0
    max_seconds: float = 300.0
    max_attempts: int = 24

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the ``attempts``-th failure: doubling, capped, with jitter in [50%, 100%]."""
        base = min(self.max_seconds, self.initial_seconds * 2 ** (attempts - 1))
        return base * (0.5 + rng.random() / 2)


class Dispatcher:
    """Sends due notifications; :meth:`run` loops until cancelled, :meth:`deliver_due` does one pass."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        client: HttpClient,
        policy: RetryPolicy,
        *,
        poll_seconds: float = 1.0,
        lease_seconds: float = 60.0,
        batch: int = 100,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._client = client
        self._policy = policy
        self._poll = poll_seconds
        self._batch = batch
        self._lease = lease_seconds
        self._now = wall_clock
        self._wake = asyncio.Event()
        self._rng = random.Random()

    def wake(self) -> None:
        """New notifications are waiting; deliver without waiting for the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        failures = 0
        while True:
            try:
                await self.deliver_due()
                async with self._sessions() as session:
                    due = await store.next_due_time(session=session)
                failures = 0
            except Exception as exc:
                raise_if_cancelling()
                # The database is away: say so once in full, then briefly, and poll less often.
                failures += 1
                if failures == 1:
                    _log.exception("notification delivery pass failed")
                else:
                    _log.warning(
                        "notification delivery still failing", failures=failures, error=type(exc).__name__
                    )
                due = None
            wait = self._poll * min(2 ** (failures - 1), 32) if failures else self._poll
            if due is not None:
                wait = max(0.0, min(wait, due - self._now()))
            await wait_event(self._wake, wait)
            self._wake.clear()

    async def deliver_due(self) -> int:
        """One pass over due notifications; returns how many were delivered."""
        now = self._now()
        async with self._sessions() as session, session.begin():
            rows = await store.claim_due_notifications(
                session=session, now=now, lease_until=now + self._lease, limit=self._batch
            )
        if not rows:
            return 0
        try:
            return await self._attempt(rows)
        except asyncio.CancelledError:
            await self._release([row.id for row in rows if row.id is not None], now + self._lease, due=now)
            raise

    async def _attempt(self, rows: list[OutboxRow]) -> int:
        """Send claimed notifications and record what came of each; returns how many were delivered."""
        outcomes = await asyncio.gather(*(self._send(row) for row in rows))
        delivered = 0
        async with self._sessions() as session, session.begin():
            for row, error in zip(rows, outcomes, strict=True):
                assert row.id is not None
                if error is None:
                    delivered += 1
                    await store.delivered(session=session, notification_id=row.id)
                    continue
                attempts = row.attempts + 1
                dead = attempts >= self._policy.max_attempts
                await store.failed(
                    session=session,
                    notification_id=row.id,
                    attempts=attempts,
                    next_attempt_at=self._now() + self._policy.delay(attempts, self._rng),
                    error=error,
                    dead=dead,
                )
                # Receiver URLs may carry tokens: log the receiver's name, never its URL.
                log = _log.error if dead else _log.warning
                log(
                    "notification delivery failed",
                    receiver=row.receiver,
                    attempts=attempts,
                    error=error,
                    gave_up=dead,
                )
        return delivered

    async def _release(self, ids: list[int], lease_until: float, *, due: float) -> None:
        """Give back the claims of a pass stopped while sending (a graceful shutdown), due as when claimed,
        so the next process sends them at once rather than when the lease ends (as it must after a kill)."""
        try:
            async with self._sessions() as session, session.begin():
                await store.release_claims(session=session, ids=ids, lease_until=lease_until, due=due)
        except Exception:
            _log.warning(
                "could not give back claimed notifications; they come due when the lease ends", count=len(ids)
            )

    async def _send(self, row: OutboxRow) -> str | None:
        import httpx  # loaded by the client's first request (see paved_alerting.http_client)

        try:
            response = await self._client.post(
                row.url, content=row.payload, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}"
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"
