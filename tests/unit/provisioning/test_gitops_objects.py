"""Objects read or written lately are read again from memory: the same content, a new object each time, and
no more than the cache holds."""

from __future__ import annotations

from pathlib import Path

from dulwich.objects import Blob, Tree
from dulwich.repo import Repo
from paved_provisioning.gitops import GitOpsRepository
from paved_provisioning.gitops_objects import LooseFirst, RecentObjects, recent_objects


def _repository(tmp_path: Path) -> Repo:
    GitOpsRepository(tmp_path / "g.git").commit_directory(
        "services/t/s/dev",
        {"services/t/s/dev/a.yaml": b"a: 1\n"},
        message="one",
        operation_id="op-1",
        step="c",
    )
    return Repo(str(tmp_path / "g.git"))


def test_a_commit_s_objects_are_read_again_without_the_packs(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    try:
        head = repo.refs[b"refs/heads/main"]
        tree_id = LooseFirst(repo.object_store)[head].tree
        expected = LooseFirst(repo.object_store)[tree_id].as_raw_string()
    finally:
        repo.close()
    for pack_file in (tmp_path / "g.git" / "objects" / "pack").iterdir():
        pack_file.unlink()
    reopened = Repo(str(tmp_path / "g.git"))
    try:
        tree = LooseFirst(reopened.object_store)[tree_id]
        assert isinstance(tree, Tree) and tree.as_raw_string() == expected
        # What a reader changes is its own: the next read is the stored content again.
        tree.add(b"extra", 0o100644, Blob.from_string(b"x").id)
        assert LooseFirst(reopened.object_store)[tree_id].as_raw_string() == expected
    finally:
        reopened.close()


def test_the_commit_written_last_is_kept_for_the_next(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    try:
        recent = recent_objects(repo.object_store)
        head = repo.refs[b"refs/heads/main"]
        assert recent.get(head) is not None  # written by this process: kept without a read
        assert recent_objects(repo.object_store) is recent
        assert recent_objects(Repo(str(tmp_path / "g.git")).object_store) is recent  # one per repository
    finally:
        repo.close()


def test_the_least_recently_used_objects_go_first() -> None:
    recent = RecentObjects(capacity=2)
    blobs = [Blob.from_string(f"{i}".encode()) for i in range(3)]
    recent.keep(blobs[0].id, (blobs[0].type_num, blobs[0].as_raw_string()))
    recent.keep(blobs[1].id, (blobs[1].type_num, blobs[1].as_raw_string()))
    assert recent.get(blobs[0].id) is not None  # now the most recently used
    recent.keep(blobs[2].id, (blobs[2].type_num, blobs[2].as_raw_string()))
    assert recent.get(blobs[1].id) is None
    for blob in (blobs[0], blobs[2]):
        found = recent.get(blob.id)
        assert isinstance(found, Blob) and found.data == blob.data and found.id == blob.id
