"""Best-effort calls: side reports (e.g. facts for another service) that must never hold up or fail the
work that produced them. One attempt, a short deadline, failures logged and never raised; in the
background through :class:`BestEffortSender`, or awaited in place through :func:`attempt`."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import grpc

from paved_kit.logging import get_logger

_log = get_logger(__name__)

Send = Callable[[], Awaitable[object]]


async def attempt(what: str, send: Send, *, deadline: float | None, **context: Any) -> bool:
    """Run ``send()`` once within ``deadline`` seconds (None: no deadline of our own); whether it succeeded.

    Failures are logged as ``"<what> failed"`` with ``context`` (a gRPC error by its code only, since its
    details may carry the peer's internals); cancellation still propagates."""
    try:
        async with asyncio.timeout(deadline):
            await send()
    except grpc.aio.AioRpcError as exc:
        _log.warning(f"{what} failed", code=exc.code().name, **context)
        return False
    except TimeoutError:
        _log.warning(f"{what} failed", code="DEADLINE_EXCEEDED", deadline_seconds=deadline, **context)
        return False
    except Exception:
        _log.warning(f"{what} failed", exc_info=True, **context)
        return False
    return True


class BestEffortSender:
    """Runs sends in background tasks, so the caller returns at once.

    - At most ``max_in_flight`` sends run at a time; beyond that a send is dropped with a warning (the
      next change of the same subject sends again, so dropping is cheaper than queueing without bound).
    - Each send gets ``timeout`` seconds (per submit overridable).
    - With a ``fingerprint``, a subject's send is skipped when its last successful send had the same one
      (unchanged payloads are not sent again); up to ``remember`` subjects are remembered, oldest first out.
    - :meth:`close` waits for what is in flight up to a grace period, then cancels the rest.
    """

    def __init__(
        self, what: str, *, timeout: float | None, max_in_flight: int = 256, remember: int = 10_000
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._what = what
        self._timeout = timeout
        self._max_in_flight = max_in_flight
        self._remember = remember
        self._tasks: set[asyncio.Task[None]] = set()
        self._sent: OrderedDict[str, Hashable] = OrderedDict()
        self._closed = False

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def submit(
        self,
        subject: str,
        send: Send,
        *,
        fingerprint: Hashable | None = None,
        timeout: float | None = None,
        **context: Any,
    ) -> bool:
        """Start ``send()`` about ``subject`` in the background; whether it was started (not a duplicate,
        not dropped, sender open). Needs a running event loop. ``context`` goes to the log lines."""
        if self._closed:
            _log.warning(f"{self._what} dropped: shutting down", subject=subject, **context)
            return False
        if fingerprint is not None and subject in self._sent and self._sent[subject] == fingerprint:
            self._sent.move_to_end(subject)
            return False
        if len(self._tasks) >= self._max_in_flight:
            _log.warning(f"{self._what} dropped: too many in flight", subject=subject, **context)
            return False
        task = asyncio.create_task(
            self._run(subject, send, fingerprint, self._timeout if timeout is None else timeout, context),
            name=f"{self._what}: {subject}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(
        self,
        subject: str,
        send: Send,
        fingerprint: Hashable | None,
        deadline: float | None,
        context: dict[str, Any],
    ) -> None:
        if not await attempt(self._what, send, deadline=deadline, subject=subject, **context):
            return
        if fingerprint is None or self._remember <= 0:
            return
        self._sent[subject] = fingerprint
        self._sent.move_to_end(subject)
        while len(self._sent) > self._remember:
            self._sent.popitem(last=False)

    def forget(self, subject: str) -> None:
        """Send ``subject``'s next payload even when it is unchanged (e.g. the receiver lost it)."""
        self._sent.pop(subject, None)

    async def drain(self) -> None:
        """Wait until nothing is in flight, including sends submitted meanwhile (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float | None = None) -> None:
        """Refuse new sends, wait up to ``grace`` seconds (default: the send timeout) for those in flight,
        then cancel what is left."""
        self._closed = True
        grace = self._timeout if grace is None else grace
        loop = asyncio.get_running_loop()
        end = None if grace is None else loop.time() + grace
        while self._tasks:
            remaining = None if end is None else end - loop.time()
            if remaining is not None and remaining <= 0:
                break
            # asyncio.wait, not wait_for(gather): a timeout must leave the tasks to us, not cancel them.
            await asyncio.wait(list(self._tasks), timeout=remaining)
        left = list(self._tasks)
        for task in left:
            task.cancel()
        if left:
            await asyncio.gather(*left, return_exceptions=True)
            _log.warning(f"{self._what} cancelled at shutdown", count=len(left))
