"""Group commit for the GitOps repository: steps of operations running at the same time in one process
share git commits instead of queueing one by one on the repository's lock.

A change is written at once when no commit is under way; the changes that arrive while one is (or while
the lock is held by another worker) are written together in the next one. Grouped changes are made by the
same step, each in its own directory, so every operation's trailers still find its commit on a retry.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from paved_provisioning.gitops import CommitResult, DirectoryChange, GitOpsRepository

#: At most this many changes in one commit (a bounded message and a bounded loss on a failed write).
MAX_GROUP = 32


@dataclass(eq=False)
class _Waiting:
    change: DirectoryChange
    result: asyncio.Future[CommitResult]


@dataclass
class GroupedCommits:
    """Commits changes of one process's operations, grouping those that wait at the same time."""

    repo: GitOpsRepository
    max_group: int = MAX_GROUP
    _waiting: list[_Waiting] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

    async def commit(self, change: DirectoryChange) -> CommitResult:
        """Commit ``change`` (alone, or with others waiting now) and return its commit."""
        waiting = _Waiting(change, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="gitops-group-commit")
        return await waiting.result

    async def _write(self) -> None:
        while self._waiting:
            group = self._next_group()
            if not group:
                continue
            try:
                results = await asyncio.to_thread(self.repo.commit_changes, [w.change for w in group])
            except asyncio.CancelledError:
                for waiting in group:
                    waiting.result.cancel()
                raise
            except Exception as error:
                for waiting in group:
                    if not waiting.result.done():
                        waiting.result.set_exception(error)
                continue
            for waiting, result in zip(group, results, strict=True):
                if not waiting.result.done():
                    waiting.result.set_result(result)

    def _next_group(self) -> list[_Waiting]:
        """The oldest waiting change and those that may share its commit: the same step, other
        directories; changes whose step stopped waiting (cancelled) are dropped."""
        self._waiting = [w for w in self._waiting if not w.result.done()]
        if not self._waiting:
            return []
        first = self._waiting[0].change
        group: list[_Waiting] = []
        directories: set[str] = set()
        for waiting in self._waiting:
            change = waiting.change
            if len(group) == self.max_group:
                break
            if change.step != first.step or change.prefix in directories:
                continue
            group.append(waiting)
            directories.add(change.prefix)
        chosen = set(map(id, group))
        self._waiting = [w for w in self._waiting if id(w) not in chosen]
        return group
