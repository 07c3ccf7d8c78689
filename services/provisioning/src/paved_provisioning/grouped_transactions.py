"""Group commit for step boundaries: the short write transactions of operations running at the same time
in one process share one database transaction instead of one each. If that transaction fails, each of its
pieces is run again in a transaction of its own, so one piece's failure is only its own.

The pieces every operation has, its load, its step boundaries and its end, are given as data rather than
as code, so a group writes them in a few statements whatever its size: every finished step in one, every
started step in one (PostgreSQL), the operations they start in one, the loads in two, and the rows the ends
change in one per table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import store
from paved_provisioning.group_commit import GroupCommit
from paved_provisioning.models import Operation, OperationStep

T = TypeVar("T")

#: At most this many pieces of work in one transaction.
MAX_GROUP = 32

Work = Callable[[AsyncSession], Awaitable[Any]]


@dataclass(frozen=True)
class Boundary:
    """One operation's step boundary: the steps that finished, the steps to start (unless its cancellation
    was asked for), and whether that makes a pending operation running."""

    operation_id: str
    finished: Sequence[store.FinishedStep]
    starts: Sequence[store.StepStart]
    mark_running: bool = False


#: An operation's end: what it writes besides its finished steps, given as row updates (it may also write
#: through the session what cannot be data).
EndWrites = Callable[[AsyncSession], Awaitable[Sequence[store.RowUpdate]]]


@dataclass(frozen=True)
class Ending:
    """One operation's end: the steps that finished and the rows it changes."""

    operation_id: str
    finished: Sequence[store.FinishedStep]
    writes: EndWrites


@dataclass(frozen=True)
class _Load:
    operation_id: str


Piece = Work | Boundary | Ending | _Load


class GroupedTransactions:
    """Runs short write transactions of one process's operations, grouping those that wait together."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_group: int = MAX_GROUP) -> None:
        self.sessions = sessions
        self._group: GroupCommit[Piece, Any] = GroupCommit(
            self._together,
            choose=lambda waiting: list(range(min(len(waiting), max_group))),
            write_alone=self._alone,
            name="grouped-transactions",
        )

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in a transaction (shared with other work waiting now); its result once committed."""
        return cast(T, await self._group.submit(work))

    async def cross(self, boundary: Boundary) -> bool:
        """Write a step boundary; False when cancellation was asked for (then no step was started)."""
        return cast(bool, await self._group.submit(boundary))

    async def end(self, ending: Ending) -> None:
        """Write an operation's end (committed when this returns)."""
        await self._group.submit(ending)

    async def load(self, operation_id: str) -> tuple[Operation | None, list[OperationStep]]:
        """The operation and its steps in order (None and no steps when there is no such operation)."""
        loaded = await self._group.submit(_Load(operation_id))
        return cast(tuple[Operation | None, list[OperationStep]], loaded)

    async def _together(self, group: list[Piece]) -> list[Any]:
        boundaries = [piece for piece in group if isinstance(piece, Boundary)]
        loads = [piece.operation_id for piece in group if isinstance(piece, _Load)]
        async with self.sessions() as session, session.begin():
            finished = [step for p in group if isinstance(p, Boundary | Ending) for step in p.finished]
            await store.finish_steps(session=session, steps=finished)
            starts = [start for b in boundaries for start in b.starts]
            refused = await store.start_steps(session=session, starts=starts)
            running = [b.operation_id for b in boundaries if b.mark_running and b.operation_id not in refused]
            await store.mark_running(session=session, operation_ids=running)
            loaded = await store.operations_with_steps(session=session, operation_ids=loads)
            results: list[Any] = []
            updates: list[store.RowUpdate] = []
            for piece in group:
                if isinstance(piece, Boundary):
                    results.append(piece.operation_id not in refused)
                elif isinstance(piece, _Load):
                    results.append(loaded.get(piece.operation_id, (None, [])))
                elif isinstance(piece, Ending):
                    updates.extend(await piece.writes(session))
                    results.append(None)
                else:
                    # Work sees the rows as the pieces before it left them.
                    await store.update_rows(session=session, updates=updates)
                    updates.clear()
                    results.append(await piece(session))
            await store.update_rows(session=session, updates=updates)
            return results

    async def _alone(self, piece: Piece) -> Any:
        (result,) = await self._together([piece])
        return result
