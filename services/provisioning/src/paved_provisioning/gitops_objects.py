"""Object reads that do not list the pack directory each time, and writes gathered into one pack.

Dulwich looks for an object in the repository's packs and, when none has it, lists the pack directory
again (another process may just have written a pack) before it reads the loose file: a directory listing
for every loose object read. ``LooseFirst`` looks in the packs the store had when it was first asked (one
listing), then for the loose file, and only then asks dulwich (which rescans, and copes with packs rolled
up meanwhile). What a commit adds is kept in memory, read back from there, and written as one pack by
``write_pack`` (see ``gitops_packs``).

Objects read or written lately are also kept, raw, per repository (``RecentObjects``): a commit reads the
same few trees the last one wrote (the root, ``services``, the team's), and a lookup in the packs (an index
search per pack, then inflating) cost more than parsing the object again. An object's name is the digest
of its content, so a kept object can never be out of date.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from dulwich.object_store import DiskObjectStore
from dulwich.objects import ObjectID, RawObjectID, ShaFile, hex_to_filename, sha_to_hex
from dulwich.pack import Pack, PackFileDisappeared

from paved_provisioning.gitops_packs import RawObject, write_objects


class RecentObjects:
    """The raw form of the objects of one repository read or written lately, by name (least recently used
    dropped first). Safe to share between threads (a commit that waits for the lock runs in one)."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._raw: OrderedDict[ObjectID, RawObject] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha: ObjectID) -> ShaFile | None:
        with self._lock:
            raw = self._raw.get(sha)
            if raw is None:
                return None
            self._raw.move_to_end(sha)
        return ShaFile.from_raw_string(raw[0], raw[1], sha)  # a new object: the caller may change it

    def keep(self, sha: ObjectID, raw: RawObject) -> None:
        with self._lock:
            self._raw[sha] = raw
            self._raw.move_to_end(sha)
            while len(self._raw) > self.capacity:
                self._raw.popitem(last=False)


_RECENT: dict[str, RecentObjects] = {}
_RECENT_LOCK = threading.Lock()


def recent_objects(store: DiskObjectStore) -> RecentObjects:
    """The kept objects of the repository whose object store is ``store`` (one per path in a process)."""
    path = os.fspath(store.path)
    with _RECENT_LOCK:
        recent = _RECENT.get(path)
        if recent is None:
            recent = _RECENT[path] = RecentObjects()
        return recent


class LooseFirst:
    """An object store as ``commit_tree_changes`` and tree walks use it: ``[sha]`` and ``add_object``."""

    def __init__(self, store: DiskObjectStore) -> None:
        self.store = store
        self._written: dict[ObjectID, RawObject] = {}
        self._packs: list[Pack] | None = None  # the store's packs when first needed
        self._recent = recent_objects(store)

    def __getitem__(self, sha: ObjectID | RawObjectID) -> ShaFile:
        hexsha = ObjectID(sha) if len(sha) == 40 else sha_to_hex(RawObjectID(sha))
        written = self._written.get(hexsha)
        if written is not None:
            # A new object: the caller may change what it reads (commit_tree_changes edits trees in place).
            return ShaFile.from_raw_string(written[0], written[1], hexsha)
        found = self._recent.get(hexsha)
        if found is None:
            found = self._read(hexsha)
            self._recent.keep(hexsha, (found.type_num, found.as_raw_string()))
        return found

    def _read(self, hexsha: ObjectID) -> ShaFile:
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
        """Keep ``obj`` for ``write_pack``, raw (the caller may go on changing the object)."""
        self._written[obj.id] = (obj.type_num, obj.as_raw_string())

    def write_pack(self) -> None:
        """Write what was added as one pack: before anything (a ref) points at it."""
        write_objects(self.store, self._written)
        for sha, raw in self._written.items():
            self._recent.keep(sha, raw)
