"""Group commit for the GitOps repository: steps of operations running at the same time in one process
share git commits instead of queueing one by one on the repository's lock.

A change is written at once when no commit is under way; the changes that arrive while one is (or while
the lock is held by another worker) are written together in the next one. Grouped changes are made by the
same step, each in its own directory, so every operation's trailers still find its commit on a retry.
"""

from __future__ import annotations

import asyncio

from paved_provisioning.gitops import CommitResult, DirectoryChange, GitOpsRepository
from paved_provisioning.group_commit import GroupCommit

#: At most this many changes in one commit (a bounded message and a bounded loss on a failed write).
MAX_GROUP = 32
#: How long a commit retries the repository lock another process holds before waiting for it in a thread,
#: and how often.
LOCK_RETRY_SECONDS = 1.0
LOCK_RETRY_INTERVAL = 0.003


class GroupedCommits:
    """Commits changes of one process's operations, grouping those that wait at the same time."""

    def __init__(self, repo: GitOpsRepository, max_group: int = MAX_GROUP) -> None:
        self.repo = repo
        self.max_group = max_group
        self._group: GroupCommit[DirectoryChange, CommitResult] = GroupCommit(
            self._write, choose=self._shareable, name="gitops-group-commit"
        )

    async def commit(self, change: DirectoryChange) -> CommitResult:
        """Commit ``change`` (alone, or with others waiting now) and return its commit."""
        return await self._group.submit(change)

    async def _write(self, changes: list[DirectoryChange]) -> list[CommitResult]:
        # Written on the event loop: a commit is a few milliseconds of small file writes, and in a thread
        # each of its ~100 system calls hands the GIL back and forth with the busy loop, which cost five
        # times the commit's own CPU. While another process holds the lock (for a commit of its own, a few
        # milliseconds) this one retries shortly; only a lock held for long is waited for in a thread, as
        # is a push over the network.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_RETRY_SECONDS
        while (results := self.repo.try_commit_changes(changes)) is None:
            if loop.time() >= deadline:
                return await asyncio.to_thread(self.repo.commit_changes, changes)
            await asyncio.sleep(LOCK_RETRY_INTERVAL)
        if self.repo.remote_url:
            await asyncio.to_thread(self.repo.push)
        return results

    def _shareable(self, waiting: list[DirectoryChange]) -> list[int]:
        """The oldest waiting change and those that may share its commit: the same step, other
        directories."""
        first = waiting[0]
        chosen: list[int] = []
        directories: set[str] = set()
        for index, change in enumerate(waiting):
            if len(chosen) == self.max_group:
                break
            if change.step != first.step or change.prefix in directories:
                continue
            chosen.append(index)
            directories.add(change.prefix)
        return chosen
