"""GitOps commits as packs: real git reads them, the pack count stays small, and a reader opened before a
roll-up still reads every commit after it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dulwich.pack import Pack
from dulwich.repo import Repo
from paved_provisioning.gitops import GitOpsRepository
from paved_provisioning.gitops_packs import PACK_LIMIT, _object_count, consolidate, roll_up_sizes


def _commit(repo: GitOpsRepository, i: int) -> None:
    directory = f"services/t/s-{i}/dev"
    repo.commit_directory(
        directory,
        {f"{directory}/a.yaml": f"a: {i}\n".encode(), f"{directory}/k8s/b.yaml": f"b: {i}\n".encode()},
        message=f"commit {i}",
        operation_id=f"op-{i}",
        step="c",
    )


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(path), *args], check=True, capture_output=True, text=True
    ).stdout


def _files(path: Path, suffix: str) -> list[Path]:
    return sorted((path / "objects" / "pack").glob(f"*{suffix}"))


@pytest.mark.parametrize(
    ("sizes", "rolled"),
    [
        ([100] * 17, 17),  # all new and alike: one pack
        ([100] * 16 + [3300], 16),  # the big pack is more than twice the small ones together: kept
        ([100] * 16 + [1600, 3300], 18),  # the small ones rolled up would match 1600, and then 3300
        ([1, 2, 4, 8, 16], 0),  # already geometric
        ([5], 0),
        ([], 0),
    ],
)
def test_roll_up_keeps_pack_sizes_geometric(sizes: list[int], rolled: int) -> None:
    assert roll_up_sizes(sizes) == rolled


def test_commits_are_packs_git_reads(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "g.git")
    for i in range(3):
        _commit(repo, i)
    assert not list((tmp_path / "g.git" / "objects").glob("[0-9a-f][0-9a-f]/*"))  # no loose objects
    assert len(_files(tmp_path / "g.git", ".pack")) == len(_files(tmp_path / "g.git", ".idx")) == 3
    for index in _files(tmp_path / "g.git", ".idx"):
        _git(tmp_path / "g.git", "verify-pack", str(index))
    _git(tmp_path / "g.git", "fsck", "--full", "--strict", "--no-dangling")
    assert _git(tmp_path / "g.git", "show", "main:services/t/s-2/dev/k8s/b.yaml") == "b: 2\n"
    assert len(_git(tmp_path / "g.git", "rev-list", "main").split()) == 3
    with Repo(str(tmp_path / "g.git")) as opened:
        format_ = opened.object_store.object_format
    for index in _files(tmp_path / "g.git", ".idx"):
        base = str(index.with_suffix(""))
        with Pack(base, object_format=format_) as pack:
            assert _object_count(base) == len(pack)  # the size estimate the roll-up orders packs by


def test_packs_are_rolled_up_and_a_reader_opened_before_still_reads_everything(tmp_path: Path) -> None:
    path = tmp_path / "g.git"
    writer = GitOpsRepository(path)
    reader = GitOpsRepository(path)
    commits = PACK_LIMIT * 3 + 5
    for i in range(commits):
        _commit(writer, i)
        # The reader opens (and keeps) packs as it goes; the writer's roll-ups delete some of them.
        assert reader.read_file(f"services/t/s-{i}/dev/a.yaml") == f"a: {i}\n".encode()
    packs = _files(path, ".pack")
    assert len(packs) <= PACK_LIMIT + 1
    assert len(_files(path, ".idx")) == len(packs)
    assert not list((path / "objects" / "pack").glob("tmp_pack_*"))
    _git(path, "fsck", "--full", "--strict", "--no-dangling")
    assert len(_git(path, "rev-list", "main").split()) == commits
    for i in range(commits):
        assert reader.read_file(f"services/t/s-{i}/dev/k8s/b.yaml") == f"b: {i}\n".encode()
    log = reader.log(limit=commits)
    assert [message.splitlines()[0] for _, message in log][-1] == "commit 0"


def test_a_repository_of_loose_objects_goes_on_with_packs(tmp_path: Path) -> None:
    path = tmp_path / "g.git"
    subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(path)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(path), str(work)], check=True, capture_output=True)
    (work / "README.md").write_text("by hand\n")
    for args in (["add", "README.md"], ["commit", "-qm", "by hand"], ["push", "-q", "origin", "main"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=work, check=True)
    repo = GitOpsRepository(path)
    _commit(repo, 0)
    assert repo.read_file("README.md") == b"by hand\n"
    assert repo.read_file("services/t/s-0/dev/a.yaml") == b"a: 0\n"
    _git(path, "fsck", "--full", "--strict", "--no-dangling")


def test_a_roll_up_of_packs_with_deltas_resolves_them(tmp_path: Path) -> None:
    """git's own packs store similar objects as deltas, naming their base by its distance back in the pack;
    the roll-up takes such packs in as whole objects rather than copying their records."""
    path = tmp_path / "g.git"
    subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(path)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(path), str(work)], check=True, capture_output=True)
    text = "".join(f"line {n}\n" for n in range(400))
    for version in range(3):
        (work / "big.txt").write_text(text + f"version {version}\n")
        for args in (["add", "big.txt"], ["commit", "-qm", f"v{version}"]):
            subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=work, check=True)
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=work, check=True, capture_output=True)
    _git(path, "repack", "-a", "-d", "-q")
    assert "chain length" in _git(path, "verify-pack", "-v", str(_files(path, ".idx")[0]))  # it has deltas
    repo = GitOpsRepository(path)
    _commit(repo, 0)
    _commit(repo, 1)
    with Repo(str(path)) as opened:
        assert consolidate(opened.object_store, limit=1) == 3
    assert len(_files(path, ".pack")) == 1
    _git(path, "fsck", "--full", "--strict", "--no-dangling")
    assert _git(path, "show", "main~4:big.txt").endswith("version 0\n")
    assert repo.read_file("services/t/s-1/dev/a.yaml") == b"a: 1\n"


def test_a_reader_kept_open_sees_what_another_writer_commits_later(tmp_path: Path) -> None:
    path = tmp_path / "g.git"
    reader = GitOpsRepository(path)
    writer = GitOpsRepository(path)
    _commit(writer, 0)
    assert reader.list_files("services/t") == ["services/t/s-0/dev/a.yaml", "services/t/s-0/dev/k8s/b.yaml"]
    for i in range(1, PACK_LIMIT + 3):  # new packs, and a roll-up of the ones the reader has open
        _commit(writer, i)
        assert reader.read_file(f"services/t/s-{i}/dev/a.yaml") == f"a: {i}\n".encode()
        assert len(reader.list_files("services/t")) == 2 * (i + 1)
    reader.close()
    writer.close()


def test_a_failed_roll_up_leaves_the_commit_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("paved_provisioning.gitops.consolidate", broken)
    repo = GitOpsRepository(tmp_path / "g.git")
    _commit(repo, 0)
    assert repo.read_file("services/t/s-0/dev/a.yaml") == b"a: 0\n"
    assert len(repo.log()) == 1
