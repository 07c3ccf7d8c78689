"""Group commit for step boundaries: the short write transactions of operations running at the same time
in one process share one database transaction instead of one each. If that transaction fails, each of its
pieces is run again in a transaction of its own, so one piece's failure is only its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning.group_commit import GroupCommit

T = TypeVar("T")

#: At most this many pieces of work in one transaction.
MAX_GROUP = 32

Work = Callable[[AsyncSession], Awaitable[Any]]


class GroupedTransactions:
    """Runs short write transactions of one process's operations, grouping those that wait together."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_group: int = MAX_GROUP) -> None:
        self.sessions = sessions
        self._group: GroupCommit[Work, Any] = GroupCommit(
            self._together,
            choose=lambda waiting: list(range(min(len(waiting), max_group))),
            write_alone=self._alone,
            name="grouped-transactions",
        )

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in a transaction (shared with other work waiting now); its result once committed."""
        return cast(T, await self._group.submit(work))

    async def _together(self, group: list[Work]) -> list[Any]:
        async with self.sessions() as session, session.begin():
            return [await work(session) for work in group]

    async def _alone(self, work: Work) -> Any:
        async with self.sessions() as session, session.begin():
            return await work(session)
