"""Object reads that do not list the pack directory each time, and writes gathered into one pack.

Dulwich looks for an object in the repository's packs and, when none has it, lists the pack directory
again (another process may just have written a pack) before it reads the loose file: a directory listing
for every loose object read. ``LooseFirst`` looks in the packs the store had when it was first asked (one
listing), then for the loose file, and only then asks dulwich (which rescans, and copes with packs rolled
up meanwhile). What a commit adds is kept in memory, read back from there, and written as one pack by
``write_pack`` (see ``gitops_packs``).
"""

from __future__ import annotations

import os

from dulwich.object_store import DiskObjectStore
from dulwich.objects import ObjectID, RawObjectID, ShaFile, hex_to_filename, sha_to_hex
from dulwich.pack import Pack, PackFileDisappeared

from paved_provisioning.gitops_packs import write_objects


class LooseFirst:
    """An object store as ``commit_tree_changes`` and tree walks use it: ``[sha]`` and ``add_object``."""

    def __init__(self, store: DiskObjectStore) -> None:
        self.store = store
        self._written: dict[ObjectID, ShaFile] = {}
        self._packs: list[Pack] | None = None  # the store's packs when first needed

    def __getitem__(self, sha: ObjectID | RawObjectID) -> ShaFile:
        hexsha = ObjectID(sha) if len(sha) == 40 else sha_to_hex(RawObjectID(sha))
        written = self._written.get(hexsha)
        if written is not None:
            # A copy: the caller may change what it reads (commit_tree_changes edits trees in place).
            return written.copy()
        if self._packs is None:
            self._packs = self.store.packs
        for pack in self._packs:
            try:
                if hexsha in pack:
                    return pack[hexsha]
            except (FileNotFoundError, PackFileDisappeared):
                break  # rolled up by another writer since: dulwich rescans below
        try:
            return ShaFile.from_path(hex_to_filename(os.fspath(self.store.path), hexsha))
        except FileNotFoundError:
            return self.store[hexsha]

    def add_object(self, obj: ShaFile) -> None:
        """Keep ``obj`` for ``write_pack`` (a copy: the caller may go on changing it)."""
        self._written[obj.id] = obj.copy()

    def write_pack(self) -> None:
        """Write what was added as one pack: before anything (a ref) points at it."""
        write_objects(self.store, list(self._written.values()))
