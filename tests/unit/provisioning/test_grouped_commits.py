"""Group commit: changes of operations waiting at the same time share a git commit, and each operation's
trailer still finds its commit on a retry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from paved_provisioning.gitops import OPERATION_TRAILER, DirectoryChange, GitOpsRepository
from paved_provisioning.grouped_commits import GroupedCommits


def _change(
    service: str, operation: str, *, step: str = "gitops_commit", content: bytes = b"a"
) -> DirectoryChange:
    directory = f"services/t/{service}/dev"
    return DirectoryChange(
        directory, {f"{directory}/a.yaml": content}, f"Provision {service}", operation, step
    )


def test_changes_of_several_operations_share_one_commit(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "g.git")
    results = repo.commit_changes([_change("s1", "o1"), _change("s2", "o2")])
    assert [r.created for r in results] == [True, True]
    assert results[0].sha == results[1].sha
    (sha, message), *rest = repo.log()
    assert not rest and sha == results[0].sha
    assert f"{OPERATION_TRAILER}: o1" in message and f"{OPERATION_TRAILER}: o2" in message
    assert "Provision s1" in message and "Provision s2" in message
    assert repo.read_file("services/t/s1/dev/a.yaml") == b"a"
    assert repo.read_file("services/t/s2/dev/a.yaml") == b"a"
    assert repo.find_commit("o2", "gitops_commit") == sha
    assert repo.find_commit("o2", "remove_manifests") is None

    # A retry of one of them finds the shared commit; a new change in the same group is committed.
    retry = DirectoryChange(
        "services/t/s2/dev", {"services/t/s2/dev/a.yaml": b"a"}, "Provision s2", "o2", "gitops_commit", 0.0
    )
    again = repo.commit_changes([retry, _change("s3", "o3")])
    assert again[0].sha == sha and not again[0].created
    assert again[1].created and again[1].sha != sha
    assert len(repo.log()) == 2


def test_changes_that_cannot_share_a_commit_are_refused(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "g.git")
    repo.ensure()
    with pytest.raises(ValueError, match="different steps"):
        repo.commit_changes([_change("s1", "o1"), _change("s2", "o2", step="remove_manifests")])
    with pytest.raises(ValueError, match="same directory"):
        repo.commit_changes([_change("s1", "o1"), _change("s1", "o2")])
    assert repo.log() == []


async def test_changes_waiting_at_the_same_time_are_committed_together(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "g.git")
    commits = GroupedCommits(repo)
    changes = [_change(f"s{i}", f"o{i}") for i in range(10)]
    # The same directory twice and another step: those wait for commits of their own, in order.
    changes += [_change("s0", "o10", content=b"b"), _change("s11", "o11", step="remove_manifests")]
    results = await asyncio.gather(*(commits.commit(c) for c in changes))
    log = repo.log()
    assert len(log) == 3
    assert {r.sha for r in results[:10]} == {log[-1][0]}
    for i in range(12):
        assert sum(f"{OPERATION_TRAILER}: o{i}\n" in m for _, m in log) == 1
    assert repo.read_file("services/t/s0/dev/a.yaml") == b"b"
    # Alone, a change is written at once.
    alone = await commits.commit(_change("s12", "o12"))
    assert alone.created and repo.head() == alone.sha


def test_a_commit_that_may_not_wait_gives_way_to_another_writer(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "g.git")
    repo.ensure()
    other_process = GitOpsRepository(tmp_path / "g.git")
    with other_process._locked():
        assert repo.try_commit_changes([_change("s1", "o1")]) is None
    assert repo.log() == []
    (result,) = repo.try_commit_changes([_change("s1", "o1")]) or []
    assert result.created and repo.head() == result.sha


async def test_grouped_commits_wait_for_a_lock_another_writer_holds(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "g.git")
    repo.ensure()
    commits = GroupedCommits(repo)
    release = asyncio.Event()

    async def hold_lock() -> None:
        with GitOpsRepository(tmp_path / "g.git")._locked():
            await release.wait()

    holder = asyncio.create_task(hold_lock())
    await asyncio.sleep(0)
    pending = asyncio.create_task(commits.commit(_change("s1", "o1")))
    await asyncio.sleep(0.05)
    assert not pending.done() and repo.log() == []
    release.set()
    await holder
    result = await asyncio.wait_for(pending, 5)
    assert result.created and repo.head() == result.sha
