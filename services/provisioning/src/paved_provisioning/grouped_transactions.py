"""Group commit for step boundaries: the short write transactions of operations running at the same time
in one process share one database transaction instead of one each.

A piece of work runs at once when no group is under way; the pieces that arrive while one is run
together in the next transaction. If that transaction fails, each of its pieces is run again in a
transaction of its own, so one piece's failure is only its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")

#: At most this many pieces of work in one transaction.
MAX_GROUP = 32

Work = Callable[[AsyncSession], Awaitable[Any]]


@dataclass(eq=False)
class _Waiting:
    work: Work
    result: asyncio.Future[Any]


@dataclass
class GroupedTransactions:
    """Runs short write transactions of one process's operations, grouping those that wait together."""

    sessions: async_sessionmaker[AsyncSession]
    max_group: int = MAX_GROUP
    _waiting: list[_Waiting] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in a transaction (shared with other work waiting now); its result once committed."""
        waiting = _Waiting(work, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="grouped-transactions")
        result: T = await waiting.result
        return result

    async def _write(self) -> None:
        while self._waiting:
            group = [w for w in self._waiting[: self.max_group] if not w.result.done()]
            del self._waiting[: self.max_group]
            if not group:
                continue
            try:
                results = await self._together(group)
            except asyncio.CancelledError:
                for waiting in group:
                    waiting.result.cancel()
                raise
            except Exception as error:
                if len(group) == 1:
                    if not group[0].result.done():
                        group[0].result.set_exception(error)
                    continue
                for waiting in group:
                    await self._alone(waiting)
                continue
            for waiting, result in zip(group, results, strict=True):
                if not waiting.result.done():
                    waiting.result.set_result(result)

    async def _together(self, group: list[_Waiting]) -> list[Any]:
        async with self.sessions() as session, session.begin():
            return [await waiting.work(session) for waiting in group]

    async def _alone(self, waiting: _Waiting) -> None:
        try:
            async with self.sessions() as session, session.begin():
                result = await waiting.work(session)
        except asyncio.CancelledError:
            waiting.result.cancel()
            raise
        except Exception as error:
            if not waiting.result.done():
                waiting.result.set_exception(error)
            return
        if not waiting.result.done():
            waiting.result.set_result(result)
