"""Who last changed each service environment's directory of the GitOps repository: Paved (a commit carrying
the ``Paved-Operation`` trailer) or someone else, and the files as Paved last left them.

One walk back along the branch's first parents, diffing each commit's tree with its parent's (dulwich prunes
unchanged subtrees, so a commit costs what it changed, not the size of the repository), ending as soon as
every directory asked about has met its last Paved commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from dulwich.diff_tree import tree_changes
from dulwich.object_store import BaseObjectStore, iter_tree_contents, tree_lookup_path
from dulwich.objects import Blob, Commit, ObjectID, Tree
from dulwich.pack import ObjectContainer
from dulwich.repo import Repo

from paved_provisioning.gitops import OPERATION_TRAILER, GitOpsRepository
from paved_provisioning.gitops_objects import LooseFirst


@dataclass
class DirectoryHistory:
    """A directory's last commit, Paved's last commit of it, and its files at the head and at Paved's."""

    directory: str
    last_commit: str = ""
    paved_commit: str = ""
    # Relative path -> content, at the branch head and at Paved's last commit (read only when someone other
    # than Paved changed the directory last).
    head_files: dict[str, bytes] = field(default_factory=dict)
    paved_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def hand_edited(self) -> bool:
        return self.last_commit != self.paved_commit and self.head_files != self.paved_files

    def changed_files(self) -> list[str]:
        """Relative paths whose content differs between Paved's last commit and the head."""
        paths = set(self.head_files) | set(self.paved_files)
        return sorted(p for p in paths if self.head_files.get(p) != self.paved_files.get(p))


def _is_paved(commit: Commit) -> bool:
    prefix = f"{OPERATION_TRAILER}: ".encode()
    return any(line.startswith(prefix) for line in commit.message.splitlines())


def _directory_of(path: bytes, depth: int) -> str | None:
    parts = path.split(b"/")
    if len(parts) <= depth:
        return None
    return b"/".join(parts[:depth]).decode(errors="replace")


def _files_under(objects: LooseFirst, commit_id: ObjectID, directory: str) -> dict[str, bytes]:
    commit = objects[commit_id]
    assert isinstance(commit, Commit)
    try:
        _, tree_id = tree_lookup_path(objects.__getitem__, commit.tree, directory.encode())
    except KeyError:
        return {}
    tree = objects[tree_id]
    if not isinstance(tree, Tree):
        return {}
    files: dict[str, bytes] = {}
    for entry in iter_tree_contents(cast(ObjectContainer, objects), tree.id):
        blob = objects[entry.sha]
        if isinstance(blob, Blob):
            files[entry.path.decode(errors="replace")] = bytes(blob.data)
    return files


def directory_histories(gitops: GitOpsRepository, directories: Iterable[str]) -> dict[str, DirectoryHistory]:
    """The history of each directory (``services/<team>/<service>/<env>``, all of the same depth)."""
    wanted = {d.strip("/"): DirectoryHistory(d.strip("/")) for d in directories}
    if not wanted:
        return {}
    depths = {d.count("/") + 1 for d in wanted}
    with Repo(str(gitops.path)) as repo:
        objects = LooseFirst(repo.object_store)
        head = repo.refs.as_dict().get(gitops.ref)
        open_ = set(wanted)
        sha = head
        while sha is not None and open_:
            commit = objects[sha]
            assert isinstance(commit, Commit)
            parent = commit.parents[0] if commit.parents else None
            parent_tree = None
            if parent is not None:
                parent_commit = objects[parent]
                assert isinstance(parent_commit, Commit)
                parent_tree = parent_commit.tree
            touched: set[str] = set()
            # LooseFirst offers what tree_changes uses of a store: reading objects.
            for change in tree_changes(cast(BaseObjectStore, objects), parent_tree, commit.tree):
                for side in (change.old, change.new):
                    path = side.path if side is not None else None
                    if path is None:
                        continue
                    for depth in depths:
                        directory = _directory_of(path, depth)
                        if directory in open_:
                            touched.add(directory)
            paved = _is_paved(commit)
            for directory in touched:
                history = wanted[directory]
                if not history.last_commit:
                    history.last_commit = sha.decode()
                if paved:
                    history.paved_commit = sha.decode()
                    open_.discard(directory)
            sha = parent
        # Files are read only where someone else changed the directory last: elsewhere they are Paved's.
        for history in wanted.values():
            if head is None or not history.last_commit or history.last_commit == history.paved_commit:
                continue
            history.head_files = _files_under(objects, head, history.directory)
            if history.paved_commit:
                paved_sha = ObjectID(history.paved_commit.encode())
                history.paved_files = _files_under(objects, paved_sha, history.directory)
    return wanted
