"""The GitOps repository: directory commits, trailers for idempotent retries, no lost commits under
concurrency (threads and processes)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from paved_provisioning.gitops import OPERATION_TRAILER, GitOpsRepository
from paved_provisioning.gitops_packs import PACK_LIMIT

CHILD = """
import sys
from paved_provisioning.gitops import GitOpsRepository
path, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
repo = GitOpsRepository(path)
for i in range(count):
    directory = f"services/t/s-{worker}-{i}/dev"
    repo.commit_directory(
        directory, {f"{directory}/a.yaml": b"a"}, message="m", operation_id=f"{worker}-{i}", step="c"
    )
"""


def _commit_many(path: str, worker: int, count: int) -> None:
    repo = GitOpsRepository(path)
    for i in range(count):
        directory = f"services/t/s-{worker}-{i}/dev"
        repo.commit_directory(
            directory, {f"{directory}/a.yaml": b"a"}, message="m", operation_id=f"{worker}-{i}", step="c"
        )


def test_directory_is_replaced_in_one_commit(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "g.git")
    base = "services/t/s/dev"
    repo.commit_directory(
        base, {f"{base}/a": b"1", f"{base}/k/b": b"2"}, message="m", operation_id="o1", step="c"
    )
    repo.commit_directory(base, {f"{base}/a": b"3"}, message="m", operation_id="o2", step="c")
    assert repo.list_files(base) == [f"{base}/a"]
    assert repo.read_file(f"{base}/a") == b"3"
    assert len(repo.log()) == 2
    repo.commit_directory(base, {}, message="remove", operation_id="o3", step="c")
    assert repo.list_files(base) == []
    assert repo.list_files("services") == []


def test_retry_finds_the_earlier_commit(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "g.git")
    base = "services/t/s/dev"
    first = repo.commit_directory(base, {f"{base}/a": b"1"}, message="m", operation_id="o1", step="c")
    again = repo.commit_directory(
        base, {f"{base}/a": b"1"}, message="m", operation_id="o1", step="c", check_existing_since=0
    )
    assert first.created and not again.created and again.sha == first.sha
    other_step = repo.commit_directory(
        base, {f"{base}/a": b"2"}, message="m", operation_id="o1", step="d", check_existing_since=0
    )
    assert other_step.created
    assert f"{OPERATION_TRAILER}: o1" in repo.log()[0][1]


def test_files_outside_the_directory_are_refused(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "g.git")
    with pytest.raises(ValueError, match="outside"):
        repo.commit_directory("services/a", {"services/b/x": b""}, message="m", operation_id="o", step="c")


def test_concurrent_threads_and_processes_lose_no_commit(tmp_path: Path) -> None:
    path = str(tmp_path / "g.git")
    GitOpsRepository(path).ensure()
    processes = [subprocess.Popen([sys.executable, "-c", CHILD, path, str(w), "10"]) for w in (0, 1)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda w: _commit_many(path, w, 10), (2, 3, 4, 5)))
    for process in processes:
        assert process.wait(60) == 0
    repo = GitOpsRepository(path)
    assert len(repo.log()) == 60
    assert len(repo.list_files("services/t")) == 60
    # Sixty commits from six writers in two processes: packs were rolled up while the others read them.
    assert len(list((tmp_path / "g.git" / "objects" / "pack").glob("*.pack"))) <= PACK_LIMIT + 1
    fsck = ["git", "--git-dir", path, "fsck", "--full", "--strict", "--no-dangling"]
    assert subprocess.run(fsck, capture_output=True, text=True, check=False).returncode == 0


def test_every_commit_is_pushed_to_the_configured_remote(tmp_path: Path) -> None:
    remote = GitOpsRepository(tmp_path / "remote.git")
    remote.ensure()
    repo = GitOpsRepository(tmp_path / "local.git", remote_url=str(tmp_path / "remote.git"))
    base = "services/t/s/dev"
    first = repo.commit_directory(base, {f"{base}/a": b"1"}, message="m", operation_id="o1", step="c")
    assert remote.head() == first.sha
    second = repo.commit_directory(base, {f"{base}/a": b"2"}, message="m", operation_id="o2", step="c")
    assert remote.head() == second.sha
    assert remote.read_file(f"{base}/a") == b"2"


def test_unreachable_remote_is_a_gitops_error_without_the_url(tmp_path: Path) -> None:
    from paved_provisioning.gitops import GitOpsError

    repo = GitOpsRepository(tmp_path / "local.git", remote_url="https://user:s3cret@127.0.0.1:9/repo.git")
    base = "services/t/s/dev"
    with pytest.raises(GitOpsError) as err:
        repo.commit_directory(base, {f"{base}/a": b"1"}, message="m", operation_id="o1", step="c")
    assert "s3cret" not in str(err.value)


def test_a_retry_pushes_the_commit_an_earlier_attempt_could_not(tmp_path: Path) -> None:
    remote_path = tmp_path / "remote.git"
    repo = GitOpsRepository(tmp_path / "local.git", remote_url=str(remote_path))
    base = "services/t/s/dev"
    from paved_provisioning.gitops import GitOpsError

    with pytest.raises(GitOpsError):  # the remote does not exist yet
        repo.commit_directory(base, {f"{base}/a": b"1"}, message="m", operation_id="o1", step="c")
    GitOpsRepository(remote_path).ensure()
    again = repo.commit_directory(
        base, {f"{base}/a": b"1"}, message="m", operation_id="o1", step="c", check_existing_since=0
    )
    assert not again.created
    assert GitOpsRepository(remote_path).head() == again.sha
