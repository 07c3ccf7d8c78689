"""The worker: leases unfinished operations from the database, runs them, and keeps the leases alive.

Several workers (processes) share the queue: PostgreSQL hands each operation to one of them with
``FOR UPDATE SKIP LOCKED``; a worker that dies stops renewing its leases, and once they expire another
worker resumes those operations at their first unfinished step. SQLite runs one worker.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from paved_kit.cancellation import raise_if_cancelling, wait_event
from paved_kit.logging import get_logger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import store
from paved_provisioning.engine import OperationRunner

_log = get_logger(__name__)


def worker_id() -> str:
    """A unique name for this worker: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims and runs operations until stopped; at most ``concurrency`` at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        runner: OperationRunner,
        *,
        concurrency: int,
        lease_seconds: float,
        heartbeat_seconds: float,
        poll_interval: float,
        name: str | None = None,
        listen: Callable[[Callable[[], None]], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.sessions = sessions
        self.runner = runner
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.heartbeat_seconds = min(heartbeat_seconds, lease_seconds / 3)
        self.poll_interval = poll_interval
        self.name = name or worker_id()
        # Wakes this worker when another process submits (PostgreSQL LISTEN); polling covers the rest.
        self.listen = listen
        self._wakeup = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}

    def wake(self) -> None:
        """Look for work now (called when an operation is submitted in this process)."""
        self._wakeup.set()

    async def run(self) -> None:
        """Claim and run operations until cancelled; running operations are cancelled with it."""
        _log.info("worker started", worker=self.name, concurrency=self.concurrency)
        heartbeat = asyncio.create_task(self._heartbeat(), name="lease-heartbeat")
        background = [heartbeat]
        if self.listen is not None:
            background.append(asyncio.create_task(self.listen(self.wake), name="operation-notifications"))
        try:
            while True:
                claimed = await self.poll_once()
                if not claimed:
                    self._wakeup.clear()
                    await wait_event(self._wakeup, self.poll_interval)
        finally:
            for task in background:
                task.cancel()
            interrupted = list(self._running)
            for task in list(self._running.values()):
                task.cancel()
            await asyncio.gather(*background, *self._running.values(), return_exceptions=True)
            await self._release(interrupted)
            _log.info("worker stopped", worker=self.name, interrupted=len(interrupted))

    async def _release(self, operation_ids: list[str]) -> None:
        """Give back the leases of operations stopped by a graceful shutdown, so another worker resumes
        them at once instead of after the lease expires (a killed worker cannot, and need not, do this)."""
        for operation_id in operation_ids:
            try:
                async with self.sessions() as session, session.begin():
                    await store.release_lease(session=session, operation_id=operation_id, owner=self.name)
            except Exception:
                _log.warning("could not release a lease; it will expire", operation=operation_id)

    async def poll_once(self) -> int:
        """Claim what fits in the free slots and start it; returns how many were claimed."""
        free = self.concurrency - len(self._running)
        if free <= 0:
            return 0
        now = store.utcnow()
        try:
            async with self.sessions() as session, session.begin():
                ids = await store.claim_operations(
                    session=session, owner=self.name, now=now, lease_until=now + self.lease, limit=free
                )
        except Exception:
            raise_if_cancelling()
            _log.exception("claiming operations failed", worker=self.name)
            return 0
        started = 0
        for operation_id in ids:
            if operation_id in self._running:
                # Our own lease ran out while the heartbeat was starved, and this claim renewed it:
                # the operation is still running here, and a second run would repeat its effects.
                continue
            task = asyncio.create_task(self._run(operation_id), name=f"operation-{operation_id}")
            self._running[operation_id] = task
            started += 1
        return started

    async def drain(self) -> None:
        """Wait for the operations this worker is running (tests and benchmarks)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _run(self, operation_id: str) -> None:
        try:
            await self.runner.run(operation_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and another attempt resumes at the unfinished step.
            _log.exception("operation run crashed", operation=operation_id, worker=self.name)
        finally:
            self._running.pop(operation_id, None)
            self._wakeup.set()

    async def _ended(self, operation_id: str) -> bool:
        """Whether the operation is done (so its lease was given up, not taken)."""
        try:
            async with self.sessions() as session:
                operation = await store.get_operation(session=session, operation_id=operation_id)
        except Exception:
            _log.exception("operation state unreadable", operation=operation_id)
            return False
        return operation is not None and bool(operation.done)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            running = dict(self._running)
            if not running:
                continue
            # Every lease in one statement: under a burst a worker holds many, and one transaction each
            # cost as much as the operations' own step boundaries.
            now = store.utcnow()
            try:
                async with self.sessions() as session, session.begin():
                    kept = await store.renew_leases(
                        session=session,
                        operation_ids=list(running),
                        owner=self.name,
                        lease_until=now + self.lease,
                    )
            except Exception:
                raise_if_cancelling()
                _log.exception("lease renewal failed", operations=len(running))
                continue
            for operation_id, task in running.items():
                if operation_id not in kept and not task.done():
                    if await self._ended(operation_id):
                        # Ending an operation gives its lease up; the run is only reporting facts now.
                        continue
                    _log.warning("lease lost; stopping the operation here", operation=operation_id)
                    task.cancel()
