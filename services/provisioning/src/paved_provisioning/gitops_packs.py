"""One pack per GitOps commit, and the geometric roll-up that keeps the number of packs small.

A commit writes its new objects (a service's files, the trees above them, the commit: about fifteen per
service) as one pack and its index rather than one loose file each. Creating files is most of what a loose
object costs, and on some filesystems (ext4 without a journal, after many deletions) far more than
writing the bytes. The pack is written with what dulwich's own ``add_objects`` uses, minus its second pass
that reads the pack back to index it: the writer already knows each object's offset and checksum.

Every pack is one more index for a reader to look in, so once there are more than ``PACK_LIMIT`` the
smallest are rolled up into one, as ``git repack --geometric=2`` does: afterwards each pack holds at least
twice the objects of all smaller ones together, so a repository of n objects keeps O(log n) packs and
every object is rewritten O(log n) times in all. A roll-up copies the packs' records as they are stored
(no inflating and compressing again), except from packs holding deltas (git's, not Paved's). Readers in
other processes are safe: a pack appears only once its index is complete (dulwich, like git, ignores a
pack without one), and a reader that finds a rolled-up pack gone rescans the pack directory and looks
again (dulwich's ``PackFileDisappeared``).
"""

from __future__ import annotations

import binascii
import contextlib
import mmap
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import BinaryIO

from dulwich.file import GitFile
from dulwich.object_store import PACK_MODE, DiskObjectStore
from dulwich.objects import ObjectID, hex_to_sha
from dulwich.pack import (
    OFS_DELTA,
    REF_DELTA,
    Pack,
    PackFileDisappeared,
    UnpackedObject,
    full_unpacked_object,
    iter_sha1,
    pack_header_chunks,
    write_pack_data,
    write_pack_index,
)

PACK_LIMIT = 16  # packs before the smallest are rolled up
GEOMETRIC_FACTOR = 2


#: An object as a commit writes it: its type number and its raw (uncompressed) content.
RawObject = tuple[int, bytes]


def write_objects(store: DiskObjectStore, objects: Mapping[ObjectID, RawObject]) -> str | None:
    """Write ``objects`` (by name) into the store as one new pack; returns its base path (None when empty)."""
    if not objects:
        return None
    records = (
        UnpackedObject(type_num, decomp_chunks=[raw], sha=hex_to_sha(sha))
        for sha, (type_num, raw) in objects.items()
    )
    return _new_pack(store, lambda handle: _encode(store, handle, records, len(objects)))


Entries = list[tuple[bytes, int, int]]  # (binary object id, offset in the pack, CRC-32 of its record)


def _encode(
    store: DiskObjectStore, handle: BinaryIO, records: Iterator[UnpackedObject], count: int
) -> tuple[Entries, bytes]:
    """Compress ``records`` into a pack: dulwich's writer, which hands back each object's offset and CRC."""
    entries, checksum = write_pack_data(
        handle.write,
        records,
        num_records=count,
        compression_level=store.pack_compression_level,
        object_format=store.object_format,
    )
    return [(sha, offset, crc) for sha, (offset, crc) in entries.items()], checksum


def _new_pack(store: DiskObjectStore, fill: Callable[[BinaryIO], tuple[Entries, bytes]]) -> str:
    """A pack ``fill`` writes, under a temporary name first, then under its own (``pack-<sha of its object
    ids>``), then its index: readers only use a pack whose index is there. Returns its base path."""
    pack_dir = os.fspath(store.pack_dir)
    fd, temporary = tempfile.mkstemp(dir=pack_dir, prefix="tmp_pack_")  # the prefix `git gc` cleans up
    try:
        with os.fdopen(fd, "wb") as handle:
            entries, checksum = fill(handle)
            if store.fsync_object_files:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, PACK_MODE)
        ordered = sorted(entries)
        base = os.path.join(pack_dir, "pack-" + iter_sha1(sha for sha, _, _ in ordered).decode("ascii"))
        os.replace(temporary, base + ".pack")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    with GitFile(base + ".idx", "wb", mask=PACK_MODE, fsync=store.fsync_object_files) as index:
        write_pack_index(index, ordered, checksum, version=store.pack_index_version)
    return base


Span = tuple[mmap.mmap, int, int]  # a record's place in a mapped pack file: (file, start, end)


def _copy(store: DiskObjectStore, handle: BinaryIO, spans: list[tuple[bytes, Span]]) -> tuple[Entries, bytes]:
    """A pack of records copied as they are stored (compressed, whole objects): no inflating, hashing or
    deflating again, as ``git repack`` reuses what it can."""
    checksum = store.object_format.hash_func()
    entries: Entries = []
    offset = 0
    for chunk in pack_header_chunks(len(spans)):
        handle.write(chunk)
        checksum.update(chunk)
        offset += len(chunk)
    for sha, (data, start, end) in spans:
        record = data[start:end]
        handle.write(record)
        checksum.update(record)
        entries.append((sha, offset, binascii.crc32(record)))
        offset += len(record)
    digest = checksum.digest()
    handle.write(digest)
    return entries, digest


def _records(pack: Pack, data: mmap.mmap, trailer: int) -> list[tuple[bytes, Span]] | None:
    """Where each object's record is in a pack file, by the offsets its index gives; None when the pack
    holds deltas: a delta names its base by its distance back in the pack, which changes when a duplicate
    between them is dropped (Paved writes whole objects; git's own packs have deltas)."""
    by_offset = sorted((offset, sha) for sha, offset, _ in pack.index.iterentries())
    ends = [offset for offset, _ in by_offset[1:]] + [len(data) - trailer]
    records: list[tuple[bytes, Span]] = []
    for (offset, sha), end in zip(by_offset, ends, strict=True):
        if (data[offset] >> 4) & 7 in (OFS_DELTA, REF_DELTA):
            return None
        records.append((sha, (data, offset, end)))
    return records


def roll_up_sizes(sizes: Sequence[int], factor: int = GEOMETRIC_FACTOR) -> int:
    """How many of the smallest packs (``sizes`` ascending, in objects) to roll into one so that every pack
    left, the new one included, holds at least ``factor`` times the objects of all smaller ones."""
    split = len(sizes) - 1
    while split > 0 and sizes[split] >= factor * sizes[split - 1]:
        split -= 1
    split += 1  # sizes[:split] break the progression
    total = sum(sizes[:split])
    while split < len(sizes) and sizes[split] < factor * total:
        total += sizes[split]
        split += 1
    return split if split >= 2 else 0


def consolidate(store: DiskObjectStore, *, limit: int = PACK_LIMIT) -> int:
    """Roll the smallest packs into one when there are more than ``limit``; returns how many packs were
    rolled up (0 when none). Only under the repository's writer lock: it deletes packs. Packs kept with a
    ``.keep`` file are left alone, as git leaves them."""
    try:
        sizes = {base: _object_count(base) for base in _pack_bases(store)}
    except FileNotFoundError:
        return 0  # something else (git gc) is repacking: leave it to that
    if len(sizes) <= limit:
        return 0
    by_size = sorted(sizes, key=sizes.__getitem__)
    roll = by_size[: roll_up_sizes([sizes[base] for base in by_size])]
    if len(roll) < 2:
        return 0
    # Opened apart from the store's own cache: closing them leaves the store's readers as they were.
    packs = {base: Pack(base, object_format=store.object_format) for base in roll}
    try:
        with contextlib.ExitStack() as files:
            spans: dict[bytes, Span] = {}
            copyable = True
            for base, pack in packs.items():
                with open(base + ".pack", "rb") as handle:
                    data = files.enter_context(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
                records = _records(pack, data, store.object_format.oid_length)
                if records is None:
                    copyable = False
                    break
                for sha, record in records:
                    spans.setdefault(sha, record)
            if copyable:
                kept = _new_pack(store, lambda handle: _copy(store, handle, list(spans.items())))
            else:
                kept = _new_pack(store, lambda handle: _encode(store, handle, *_inflated(packs.values())))
    except (FileNotFoundError, PackFileDisappeared):
        return 0  # something else (git gc) is repacking: leave it to that
    finally:
        for pack in packs.values():
            pack.close()
    for base in roll:
        if base == kept:  # the roll-up came out as a pack already there
            continue
        # The index first: a reader listing the directory meanwhile does not take the pack up again.
        for suffix in (".idx", ".pack"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(base + suffix)
    return len(roll)


def _inflated(packs: Iterable[Pack]) -> tuple[Iterator[UnpackedObject], int]:
    """Every object of ``packs`` once, whole (deltas resolved), and how many: for packs holding deltas."""
    packs = list(packs)
    count = len({sha for pack in packs for sha in pack})

    def records() -> Iterator[UnpackedObject]:
        written: set[bytes] = set()
        for pack in packs:
            for obj in pack.iterobjects():
                if obj.id not in written:
                    written.add(obj.id)
                    yield full_unpacked_object(obj)

    return records(), count


def _pack_bases(store: DiskObjectStore) -> list[str]:
    """Paths (without ``.pack``) of the store's complete packs (with an index), but kept ones."""
    pack_dir = os.fspath(store.pack_dir)
    names = set(os.listdir(pack_dir))
    bases = sorted(name.removesuffix(".pack") for name in names if name.endswith(".pack"))
    complete = [base for base in bases if base + ".idx" in names and base + ".keep" not in names]
    return [os.path.join(pack_dir, base) for base in complete]


def _object_count(base: str) -> int:
    """About how many objects a pack holds, from its index's size, without reading it: a version 2 index
    is 1,072 bytes of header, fan-out table and checksums plus 28 per object (8 more for each object past
    2 GiB into the pack). Enough to order packs by size; the roll-up counts what it writes exactly."""
    return max(0, (os.path.getsize(base + ".idx") - 1072) // 28)
