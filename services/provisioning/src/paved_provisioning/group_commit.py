"""Group commit: pieces of work of operations running at the same time in one process are written together
instead of queueing one by one. A piece is written at once when no write is under way; the pieces that
arrive meanwhile are written together in the next one. GitOps commits and step-boundary transactions use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Waiting(Generic[T, R]):
    item: T
    result: asyncio.Future[R]


class GroupCommit(Generic[T, R]):
    """Writes waiting items in groups.

    ``write`` writes a group and returns one result per item, in order; ``choose`` picks which of the waiting
    items (oldest first) may share the next write, as indices, the first always among them. When a group's
    write fails, each item is written again on its own with ``write_alone`` if given (so one item's failure is
    only its own), else the failure is every item's."""

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[list[R]]],
        *,
        choose: Callable[[list[T]], list[int]],
        write_alone: Callable[[T], Awaitable[R]] | None = None,
        name: str,
    ) -> None:
        self._write_group = write
        self._choose = choose
        self._write_alone = write_alone
        self._name = name
        self._waiting: list[_Waiting[T, R]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Write ``item`` (alone, or with others waiting now); its result once written."""
        waiting: _Waiting[T, R] = _Waiting(item, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name=self._name)
        return await waiting.result

    async def _write(self) -> None:
        while True:
            # Items whose caller stopped waiting (cancelled) are dropped.
            self._waiting = [w for w in self._waiting if not w.result.done()]
            if not self._waiting:
                return
            chosen = set(self._choose([w.item for w in self._waiting]))
            group = [w for i, w in enumerate(self._waiting) if i in chosen]
            self._waiting = [w for i, w in enumerate(self._waiting) if i not in chosen]
            try:
                results = await self._write_group([w.item for w in group])
            except asyncio.CancelledError:
                _cancel(group)
                raise
            except Exception as error:
                if self._write_alone is None or len(group) == 1:
                    for waiting in group:
                        _settle(waiting, error=error)
                else:
                    await self._each_alone(group, self._write_alone)
                continue
            for waiting, result in zip(group, results, strict=True):
                _settle(waiting, result)

    @staticmethod
    async def _each_alone(group: list[_Waiting[T, R]], write_alone: Callable[[T], Awaitable[R]]) -> None:
        for waiting in group:
            try:
                result = await write_alone(waiting.item)
            except asyncio.CancelledError:
                _cancel(group)
                raise
            except Exception as error:
                _settle(waiting, error=error)
            else:
                _settle(waiting, result)


def _settle(waiting: _Waiting[Any, Any], result: Any = None, *, error: BaseException | None = None) -> None:
    if waiting.result.done():
        return
    if error is not None:
        waiting.result.set_exception(error)
    else:
        waiting.result.set_result(result)


def _cancel(group: list[_Waiting[Any, Any]]) -> None:
    for waiting in group:
        waiting.result.cancel()
