"""A structured diff of two sets of JSON objects (Kubernetes manifests, Terraform blocks, specs): which
objects and which fields were added, changed or removed.

Objects are keyed by ``Kind/namespace/name`` (Kubernetes objects) or ``resource#index`` (anything without a
kind, such as Terraform blocks), so a renamed object reads as one removed and one added. Fields are
addressed by JSON pointers (RFC 6901) inside their object. Lists whose items are all mappings with distinct
``name`` keys (containers, ports, env, volumes) are matched by name, not by position, so inserting a
container does not report every later one as changed; the pointer then carries the item's index on the side
where it exists (the new side for added and changed fields, the old side for removed ones).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Change(StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"


@dataclass(frozen=True)
class FieldChange:
    """One field of an object: its pointer, what changed and the values before and after."""

    path: str
    change: Change
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class ObjectChange:
    """One object of the plan: added or removed whole, or changed in the listed fields."""

    key: str
    kind: str
    name: str
    resource: str
    change: Change
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class PlanDiff:
    """Every object that differs, in key order; empty when the plans render the same."""

    objects: tuple[ObjectChange, ...] = field(default=())

    @property
    def drifted(self) -> bool:
        return bool(self.objects)

    def counts(self) -> dict[str, int]:
        """How many objects were added, changed and removed."""
        totals = {c.value: 0 for c in Change}
        for obj in self.objects:
            totals[obj.change.value] += 1
        return totals


@dataclass(frozen=True)
class _Object:
    key: str
    kind: str
    name: str
    resource: str
    body: Mapping[str, Any]


def escape(token: str) -> str:
    """One JSON pointer reference token (RFC 6901 section 3: ``~`` becomes ``~0``, ``/`` becomes ``~1``)."""
    return token.replace("~", "~0").replace("/", "~1")


def _keyed(objects: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, _Object]:
    keyed: dict[str, _Object] = {}
    positions: dict[str, int] = {}
    repeats: dict[str, int] = {}
    for resource, body in objects:
        kind = body.get("kind")
        metadata = body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        if isinstance(kind, str) and isinstance(name, str):
            namespace = metadata.get("namespace", "") if isinstance(metadata, Mapping) else ""
            key = f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
            shown_kind, shown_name = kind, name
        else:
            index = positions.get(resource, 0)
            positions[resource] = index + 1
            key = f"{resource}#{index}"
            shown_kind, shown_name = "", resource
        if key in keyed:  # the same object twice in one plan: keep both apart, in order
            repeats[key] = repeats.get(key, 0) + 1
            key = f"{key}#{repeats[key]}"
        keyed[key] = _Object(key, shown_kind, shown_name, resource, body)
    return keyed


def _named_items(items: Sequence[Any]) -> dict[str, int] | None:
    """Index of each item by its ``name`` when every item is a mapping with a distinct string name."""
    if not items:
        return None
    index: dict[str, int] = {}
    for position, item in enumerate(items):
        if not isinstance(item, Mapping):
            return None
        name = item.get("name")
        if not isinstance(name, str) or name in index:
            return None
        index[name] = position
    return index


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """The fields that differ between two JSON values, as pointers under ``path``."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        changes: list[FieldChange] = []
        for key in sorted(set(before) | set(after), key=str):
            here = f"{path}/{escape(str(key))}"
            if key not in after:
                changes.append(FieldChange(here, Change.REMOVED, before=before[key]))
            elif key not in before:
                changes.append(FieldChange(here, Change.ADDED, after=after[key]))
            else:
                changes.extend(field_changes(before[key], after[key], here))
        return changes
    if _is_list(before) and _is_list(after):
        return _list_changes(before, after, path)
    if before == after and type(before) is type(after):
        return []
    return [FieldChange(path, Change.CHANGED, before=before, after=after)]


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _list_changes(before: Sequence[Any], after: Sequence[Any], path: str) -> list[FieldChange]:
    old_names, new_names = _named_items(before), _named_items(after)
    if old_names is not None and new_names is not None:
        changes: list[FieldChange] = []
        for name, new_index in new_names.items():
            here = f"{path}/{new_index}"
            if name in old_names:
                changes.extend(field_changes(before[old_names[name]], after[new_index], here))
            else:
                changes.append(FieldChange(here, Change.ADDED, after=after[new_index]))
        for name, old_index in old_names.items():
            if name not in new_names:
                changes.append(FieldChange(f"{path}/{old_index}", Change.REMOVED, before=before[old_index]))
        return changes
    changes = []
    for index in range(max(len(before), len(after))):
        here = f"{path}/{index}"
        if index >= len(after):
            changes.append(FieldChange(here, Change.REMOVED, before=before[index]))
        elif index >= len(before):
            changes.append(FieldChange(here, Change.ADDED, after=after[index]))
        else:
            changes.extend(field_changes(before[index], after[index], here))
    return changes


def diff_objects(
    before: Iterable[tuple[str, Mapping[str, Any]]], after: Iterable[tuple[str, Mapping[str, Any]]]
) -> PlanDiff:
    """The structured diff of two sets of ``(resource, object)`` pairs."""
    old, new = _keyed(before), _keyed(after)
    objects: list[ObjectChange] = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            o = old[key]
            objects.append(ObjectChange(key, o.kind, o.name, o.resource, Change.REMOVED))
        elif key not in old:
            n = new[key]
            objects.append(ObjectChange(key, n.kind, n.name, n.resource, Change.ADDED))
        else:
            n = new[key]
            fields = field_changes(old[key].body, n.body)
            if fields:
                objects.append(ObjectChange(key, n.kind, n.name, n.resource, Change.CHANGED, tuple(fields)))
    return PlanDiff(tuple(objects))
