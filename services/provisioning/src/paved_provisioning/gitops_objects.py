"""Object reads that do not list the pack directory each time.

Dulwich looks for an object in the repository's packs first and, when no pack has it, lists the pack
directory again (another process may just have written a pack) before it reads the loose file. In a
repository of loose objects, as Paved's commits make, that is a directory listing for every object read:
about twenty per commit, most of a commit's system calls. ``LooseFirst`` reads the loose file first and
falls back to dulwich (the packs) only when there is none; the objects a commit has just written are read
back from memory.
"""

from __future__ import annotations

import os

from dulwich.object_store import DiskObjectStore
from dulwich.objects import ObjectID, RawObjectID, ShaFile, hex_to_filename, sha_to_hex


class LooseFirst:
    """An object store as ``commit_tree_changes`` and tree walks use it: ``[sha]`` and ``add_object``."""

    def __init__(self, store: DiskObjectStore) -> None:
        self.store = store
        self._written: dict[ObjectID, ShaFile] = {}

    def __getitem__(self, sha: ObjectID | RawObjectID) -> ShaFile:
        hexsha = ObjectID(sha) if len(sha) == 40 else sha_to_hex(RawObjectID(sha))
        written = self._written.get(hexsha)
        if written is not None:
            # A copy: the caller may change what it reads (commit_tree_changes edits trees in place).
            return written.copy()
        try:
            return ShaFile.from_path(hex_to_filename(os.fspath(self.store.path), hexsha))
        except FileNotFoundError:
            return self.store[hexsha]

    def add_object(self, obj: ShaFile) -> None:
        self.store.add_object(obj)
        self._written[obj.id] = obj.copy()
