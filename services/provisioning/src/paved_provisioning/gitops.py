"""The GitOps repository: changes under ``services/<team>/<service>/<env>/`` committed with dulwich.

Commits from concurrent operations (threads or processes) are serialized by an exclusive file lock on the
repository and land with a compare-and-swap of the branch ref, so no commit is ever lost. Each commit carries
``Paved-Operation`` and ``Paved-Step`` trailers: a retried step finds its earlier commit instead of
committing twice. Changes of several operations made by the same step may share one commit (one
``Paved-Operation`` trailer each, one ``Paved-Step``), as a burst of them does.
"""

from __future__ import annotations

import fcntl
import os
import stat
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from dulwich.object_store import BaseObjectStore, commit_tree_changes, iter_tree_contents, tree_lookup_path
from dulwich.objects import Blob, Commit, ObjectID, Tree
from dulwich.pack import ObjectContainer
from dulwich.refs import Ref
from dulwich.repo import Repo
from paved_kit.logging import get_logger

from paved_provisioning.gitops_objects import LooseFirst
from paved_provisioning.gitops_packs import consolidate

OPERATION_TRAILER = "Paved-Operation"
STEP_TRAILER = "Paved-Step"
CAS_ATTEMPTS = 5

_log = get_logger(__name__)


class GitOpsError(Exception):
    """The repository could not be written or pushed."""


@dataclass(frozen=True)
class DirectoryChange:
    """One operation's step making ``directory`` hold exactly ``files`` (paths from the repository root).

    With ``check_existing_since`` set (a retry that may have committed before dying), an earlier commit of
    the same operation and step is used instead of committing again.
    """

    directory: str
    files: Mapping[str, bytes]
    message: str
    operation_id: str
    step: str
    check_existing_since: float | None = None

    @property
    def prefix(self) -> str:
        return self.directory.strip("/") + "/"


@dataclass(frozen=True)
class CommitResult:
    """A commit made (or found already made) by a step."""

    sha: str
    created: bool


def clear_stale_locks(path: Path) -> list[Path]:
    """Remove git lock files (objects, refs, packed-refs, HEAD, config) under the bare repository
    ``path``, and a pack a writer had not finished (its temporary file, or a pack still without its
    index); only safe while holding the writer lock after its previous holder died."""
    candidates = [path / name for name in ("HEAD.lock", "packed-refs.lock", "config.lock", "index.lock")]
    for directory in ("objects", "refs"):
        candidates += (path / directory).rglob("*.lock")
    packs = path / "objects" / "pack"
    candidates += packs.glob("tmp_pack_*")
    candidates += [pack for pack in packs.glob("pack-*.pack") if not pack.with_suffix(".idx").exists()]
    cleared = []
    for candidate in candidates:
        try:
            candidate.unlink()
        except FileNotFoundError:
            continue
        cleared.append(candidate)
    return cleared


def _tree_of(objects: LooseFirst, commit_id: ObjectID) -> ObjectID:
    commit = objects[commit_id]
    if not isinstance(commit, Commit):
        raise GitOpsError(f"{commit_id.decode()} is not a commit")
    return commit.tree


def _author_bytes(author: str) -> bytes:
    return author.encode()


class GitOpsRepository:
    """A bare repository on local disk, optionally pushed to a remote after each commit."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        branch: str = "main",
        author: str = "Paved <paved@paved.dev>",
        remote_url: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.branch = branch
        self.ref = Ref(f"refs/heads/{branch}".encode())
        self.author = author
        self.remote_url = remote_url
        self._reader: Repo | None = None
        self._reader_lock = threading.Lock()
        # Opened once: opening a repository reads its config and lists its packs, which cost more
        # system time than writing a commit's objects. Used only while holding the writer lock.
        self._writer: Repo | None = None

    def ensure(self) -> None:
        """Create the bare repository when it does not exist yet."""
        if (self.path / "HEAD").exists():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if not (self.path / "HEAD").exists():
                repo = Repo.init_bare(str(self.path))
                repo.refs.set_symbolic_ref(Ref(b"HEAD"), self.ref)
                repo.close()

    @contextmanager
    def _locked(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the repository's writer lock; first clear what a writer killed while holding it left.
        Yields whether it is held: with ``wait=False``, False at once when another writer holds it.

        The kernel releases a dead process's ``flock``, but not git's ``*.lock`` files: dulwich writes
        every object and ref to ``<file>.lock`` and renames it into place, so ``kill -9`` mid-write leaves
        the lock behind, and the next write of the same object or ref fails ``FileLocked``. Each holder
        writes its pid into ``paved.lock`` and empties it on release: a non-empty file found on
        acquiring means the previous holder died inside, and since every Paved writer holds this lock,
        the git lock files it finds can only be that writer's.
        """
        with open(self.path / "paved.lock", "a+b") as handle:
            fd = handle.fileno()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                previous = os.read(fd, 64)
                if previous:
                    cleared = clear_stale_locks(self.path)
                    _log.warning(
                        "gitops writer died holding the repository lock; cleared its lock files",
                        writer_pid=previous.decode(errors="replace").strip(),
                        cleared=len(cleared),
                    )
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                yield True
                os.ftruncate(fd, 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def head(self) -> str | None:
        """The branch's current commit, or None while the repository is empty."""
        with self._reading() as repo:
            sha = self._branch_head(repo)
            return sha.decode() if sha else None

    def find_commit(self, operation_id: str, step: str, *, since: float | None = None) -> str | None:
        """The commit a step of an operation made on the branch, if any (walks back to ``since``)."""
        with self._reading() as repo:
            return self._find(repo, operation_id, step, since)

    def _branch_head(self, repo: Repo) -> ObjectID | None:
        """The branch's commit, reading just its ref (``as_dict`` lists every ref of the repository)."""
        try:
            return repo.refs[self.ref]
        except KeyError:
            return None

    def _find(self, repo: Repo, operation_id: str, step: str, since: float | None) -> str | None:
        head = self._branch_head(repo)
        if head is None:
            return None
        wanted = {f"{OPERATION_TRAILER}: {operation_id}", f"{STEP_TRAILER}: {step}"}
        for entry in repo.get_walker(include=[head]):
            commit = entry.commit
            if since is not None and commit.commit_time < since:
                break
            lines = set(commit.message.decode(errors="replace").splitlines())
            if wanted <= lines:
                return str(commit.id.decode())
        return None

    def commit_directory(
        self,
        directory: str,
        files: Mapping[str, bytes],
        *,
        message: str,
        operation_id: str,
        step: str,
        check_existing_since: float | None = None,
    ) -> CommitResult:
        """Make ``directory`` hold exactly ``files`` (paths from the repository root) in one commit.

        With ``check_existing_since`` set (a retry that may have committed before dying), an earlier commit
        of the same operation and step is returned instead of committing again.
        """
        change = DirectoryChange(directory, files, message, operation_id, step, check_existing_since)
        return self.commit_changes([change])[0]

    def commit_changes(self, changes: Sequence[DirectoryChange]) -> list[CommitResult]:
        """Commit the changes of several operations' steps in one commit, a result for each in order: the
        earlier commit found for a retried one, else the new commit. All are made by the same step, each
        in its own directory. Waits for the writer lock, and pushes when a remote is configured."""
        results = self._commit_locally(changes, wait=True)
        assert results is not None  # a waiting writer always gets the lock
        # Pushed also when the commit was found: the earlier attempt may have died before its push.
        self.push()
        return results

    def try_commit_changes(self, changes: Sequence[DirectoryChange]) -> list[CommitResult] | None:
        """``commit_changes`` without waiting and without pushing: None at once when another writer holds
        the lock. The caller pushes (``push``) when a remote is configured."""
        return self._commit_locally(changes, wait=False)

    def _commit_locally(self, changes: Sequence[DirectoryChange], *, wait: bool) -> list[CommitResult] | None:
        if len({c.step for c in changes}) > 1:
            raise ValueError("changes made by different steps cannot share a commit")
        if len({c.prefix for c in changes}) < len(changes):
            raise ValueError("two changes of the same directory cannot share a commit")
        for change in changes:
            for path in change.files:
                if not path.startswith(change.prefix):
                    raise ValueError(f"{path} is outside {change.directory}")
        self.ensure()
        results: list[CommitResult | None] = [None] * len(changes)
        with self._locked(wait=wait) as held:
            if not held:
                return None
            repo = self._writer = self._writer or Repo(str(self.path))
            for index, change in enumerate(changes):
                if change.check_existing_since is not None:
                    found = self._find(repo, change.operation_id, change.step, change.check_existing_since)
                    if found:
                        results[index] = CommitResult(found, created=False)
            new = [change for change, result in zip(changes, results, strict=True) if result is None]
            if new:
                sha = self._commit_with_cas(repo, new)
                results = [result or CommitResult(sha, created=True) for result in results]
        return [result for result in results if result is not None]

    def _commit_with_cas(self, repo: Repo, changes: Sequence[DirectoryChange]) -> str:
        for _ in range(CAS_ATTEMPTS):
            old = self._branch_head(repo)
            objects = LooseFirst(repo.object_store)
            commit = Commit()
            commit.tree = self._tree_with(objects, old, changes)
            commit.parents = [old] if old else []
            commit.author = commit.committer = _author_bytes(self.author)
            commit.commit_time = commit.author_time = int(time.time())
            commit.commit_timezone = commit.author_timezone = 0
            commit.encoding = b"UTF-8"
            commit.message = _message(changes).encode()
            objects.add_object(commit)
            objects.write_pack()
            # The file lock serializes Paved writers; the compare-and-swap also protects against any other
            # process updating the branch behind our back (then the commit is rebuilt on the new head).
            if repo.refs.set_if_equals(self.ref, old, commit.id):
                self._roll_up(repo)
                return commit.id.decode()
        raise GitOpsError(f"branch {self.branch} kept moving; gave up after {CAS_ATTEMPTS} attempts")

    def _roll_up(self, repo: Repo) -> None:
        """Roll small packs up (``gitops_packs.consolidate``): upkeep, so a failure is logged and the commit,
        made already, stands; the next commit tries again."""
        try:
            rolled = consolidate(repo.object_store)
        except Exception:
            _log.exception("gitops pack roll-up failed; the next commit tries again")
            return
        if rolled:
            _log.debug("gitops packs rolled up", packs=rolled)

    def _tree_with(
        self, store: LooseFirst, head: ObjectID | None, changes: Sequence[DirectoryChange]
    ) -> ObjectID:
        if head is None:
            base_tree = Tree()
            store.add_object(base_tree)
            base_id = base_tree.id
        else:
            base_id = _tree_of(store, head)
        edits: list[tuple[bytes, int | None, ObjectID | None]] = []
        for change in changes:
            existing = set(_paths_under(store, base_id, change.prefix))
            for path in sorted(existing - set(change.files)):
                edits.append((path.encode(), None, None))
            for path, content in sorted(change.files.items()):
                blob = Blob.from_string(content)
                store.add_object(blob)
                edits.append((path.encode(), stat.S_IFREG | 0o644, blob.id))
        # LooseFirst offers what commit_tree_changes uses of a store: reading and adding objects.
        return commit_tree_changes(cast(BaseObjectStore, store), base_id, edits)

    def close(self) -> None:
        """Close the repositories kept open for reading and writing (their open packs)."""
        with self._reader_lock:
            for repo in (self._reader, self._writer):
                if repo is not None:
                    repo.close()
            self._reader = self._writer = None

    def read_file(self, path: str, *, commit: str | None = None) -> bytes | None:
        """A file's content at ``commit`` (default: the branch head), or None."""
        with self._reading() as repo:
            sha = ObjectID(commit.encode()) if commit else self._branch_head(repo)
            return None if sha is None else _read_blob(repo, sha, path)

    def list_files(self, directory: str, *, commit: str | None = None) -> list[str]:
        """Paths of the files under ``directory`` at ``commit`` (default: the branch head)."""
        with self._reading() as repo:
            sha = ObjectID(commit.encode()) if commit else self._branch_head(repo)
            if sha is None:
                return []
            objects = LooseFirst(repo.object_store)
            return sorted(_paths_under(objects, _tree_of(objects, sha), directory.strip("/") + "/"))

    @contextmanager
    def _reading(self) -> Iterator[Repo]:
        """The repository opened once for reading. Objects are immutable and named by their content, so it
        never reads a stale one, and the branch's ref is read from its file each time; opening a Repo per
        read was most of the CPU of a step that reads one file back (it loads every pack's index again)."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = Repo(str(self.path))
            yield self._reader

    def log(self, *, limit: int = 1000) -> list[tuple[str, str]]:
        """(sha, message) of the branch's commits, newest first."""
        with self._reading() as repo:
            head = self._branch_head(repo)
            if head is None:
                return []
            return [
                (e.commit.id.decode(), e.commit.message.decode(errors="replace"))
                for e in repo.get_walker(include=[head], max_entries=limit)
            ]

    def push(self) -> None:
        """Push the branch to the configured remote (nothing without one)."""
        if not self.remote_url:
            return
        # Imported here: porcelain loads most of dulwich (~25 ms of start-up) for the push alone, and only a
        # repository with a remote pushes.
        from dulwich import porcelain

        try:
            with self._locked():
                porcelain.push(
                    str(self.path),
                    self.remote_url,
                    refspecs=[self.ref],
                    outstream=open(os.devnull, "wb"),  # noqa: SIM115
                    errstream=open(os.devnull, "wb"),  # noqa: SIM115
                )
        except Exception as exc:
            raise GitOpsError(f"push to the configured remote failed: {type(exc).__name__}") from exc


def _message(changes: Sequence[DirectoryChange]) -> str:
    """One change: its message. Several: a summary line, each message, then every operation's trailer."""
    if len(changes) == 1:
        text = changes[0].message
    else:
        text = f"{len(changes)} changes\n\n" + "\n".join(f"- {c.message}" for c in changes)
    operations = "".join(f"{OPERATION_TRAILER}: {c.operation_id}\n" for c in changes)
    return f"{text}\n\n{operations}{STEP_TRAILER}: {changes[0].step}\n"


def _read_blob(repo: Repo, commit: ObjectID, path: str) -> bytes | None:
    objects = LooseFirst(repo.object_store)
    tree_id = _tree_of(objects, commit)
    try:
        _, blob_id = tree_lookup_path(objects.__getitem__, tree_id, path.encode())
    except KeyError:
        return None
    blob = objects[blob_id]
    return bytes(blob.data) if isinstance(blob, Blob) else None


def _paths_under(objects: LooseFirst, tree_id: ObjectID, prefix: str) -> Iterator[str]:
    tree = objects[tree_id]
    for part in prefix.strip("/").split("/"):
        assert isinstance(tree, Tree)
        try:
            mode, sha = tree[part.encode()]
        except KeyError:
            return
        if not stat.S_ISDIR(mode):
            return
        tree = objects[ObjectID(sha)]
    assert isinstance(tree, Tree)
    for entry in iter_tree_contents(cast(ObjectContainer, objects), tree.id):
        yield prefix + entry.path.decode()
