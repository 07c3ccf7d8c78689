"""Edge checks every request message passes before a handler sees it, whatever the RPC.

Protobuf accepts values no domain can use: NaN and infinities in doubles (JSON's ``1e400`` arrives as
infinity), Timestamps and Durations outside their documented ranges, enum numbers the contract does not
define, NUL and Unicode non-characters in strings, Structs nested deeper than any document needs.
:func:`request_violations` walks a message by its descriptor and names every such field, so that
servers answer INVALID_ARGUMENT with a ``BadRequest`` instead of failing deep inside a handler.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, NamedTuple

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from paved_kit.errors import FieldViolation

# Nesting of Struct/ListValue values (one level per JSON object or array); protobuf's own decoder
# refuses messages nested deeper than 100, about 33 JSON levels, so this keeps a margin below it.
MAX_VALUE_DEPTH = 32
# Timestamp: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z (google/protobuf/timestamp.proto).
MIN_TIMESTAMP_SECONDS = -62_135_596_800
MAX_TIMESTAMP_SECONDS = 253_402_300_799
# Duration: ±10,000 years (google/protobuf/duration.proto).
MAX_DURATION_SECONDS = 315_576_000_000
MAX_NANOS = 999_999_999
MAX_VIOLATIONS = 20
# Times a report window may name (see time_violation).
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9000, 1, 1, tzinfo=UTC)

# NUL and the other C0 controls except tab, line feed and carriage return; DEL; the Unicode
# non-characters (U+FDD0..U+FDEF and the last two code points of every plane).
_FORBIDDEN_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufdd0-\ufdef"
    + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
    + "]"
)

_TIMESTAMP = "google.protobuf.Timestamp"
_DURATION = "google.protobuf.Duration"
_STRUCT = "google.protobuf.Struct"
_LIST_VALUE = "google.protobuf.ListValue"
_VALUE = "google.protobuf.Value"
_MONEY = "google.type.Money"
_VALUE_MESSAGES = frozenset({_STRUCT, _VALUE, _LIST_VALUE})
_FLOATING = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)


def string_problem(value: str) -> str | None:
    """Why ``value`` cannot be accepted as text (a control character or non-character), or None."""
    if value.isprintable():  # the common case, in C: no controls, no unassigned code points
        return None
    found = _FORBIDDEN_CHARACTERS.search(value)
    if found is None:
        return None
    return f"must not contain the control or non-character U+{ord(found.group()):04X}"


def number_problem(value: float) -> str | None:
    """Why ``value`` is not a usable number (NaN or infinite, e.g. JSON's 1e400), or None."""
    if math.isfinite(value):
        return None
    return "must be a finite number (not NaN or infinity)"


def time_violation(field: str, value: datetime | None) -> FieldViolation | None:
    """A violation when ``value`` lies outside the times a report or window can mean: protobuf's
    Timestamp range reaches year 1 and 9999, where adding or subtracting a day overflows."""
    if value is None or EARLIEST_TIME <= value < LATEST_TIME:
        return None
    return FieldViolation(
        field, f"must be between {EARLIEST_TIME.isoformat()} and {LATEST_TIME.isoformat()} (exclusive)"
    )


def request_violations(
    message: Message, *, handler_checked: frozenset[str] = frozenset()
) -> list[FieldViolation]:
    """Every field of ``message`` (recursively) holding a value no handler should receive.

    Paths are in the request's own terms: ``parameters.replicas``, ``resources[2].properties.size``,
    ``window.start_time``. At most :data:`MAX_VIOLATIONS` are reported. ``handler_checked`` names fields
    (``package.Message.field``) whose values the handler judges itself, e.g. per-row rejections in a
    bulk ingest; they and everything inside them are skipped.
    """
    found: list[tuple[str, str]] = []
    _walk(message, 0, handler_checked, found)
    return [FieldViolation(path, description) for path, description in found[:MAX_VIOLATIONS]]


# Paths are built only for what is found: a check appends (path relative to the message it was given,
# description), and each caller prefixes what its callee appended. Bulk requests (thousands of samples
# or rows) pass without building a single path string.
_Found = list[tuple[str, str]]


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"


def _prefix(found: _Found, since: int, prefix: str) -> None:
    for index in range(since, len(found)):
        path, description = found[index]
        found[index] = (_join(prefix, path), description)


class _Field(NamedTuple):
    """What the checks need of one field, read from its descriptor once (descriptor reads are slow)."""

    name: str
    full_name: str
    kind: int  # a FieldDescriptor.TYPE_*, or _MAP / _MESSAGE
    repeated: bool
    enum_numbers: frozenset[int]
    enum_names: str
    key_is_string: bool
    value: _Field | None  # a map's value field


_MAP = -1
_MESSAGE = -2
_FIELDS: dict[Any, _Field] = {}
_KINDS: dict[Any, str] = {}


def _field(descriptor: FieldDescriptor) -> _Field:
    known = _FIELDS.get(descriptor)
    if known is not None:
        return known
    entry = descriptor.message_type
    is_map = entry is not None and bool(entry.GetOptions().map_entry)
    kind = descriptor.type
    if is_map:
        kind = _MAP
    elif kind in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
        kind = _MESSAGE
    enum = descriptor.enum_type
    plan = _Field(
        name=descriptor.name,
        full_name=descriptor.full_name,
        kind=kind,
        repeated=descriptor.is_repeated and not is_map,
        enum_numbers=frozenset(v.number for v in enum.values) if enum is not None else frozenset(),
        enum_names=", ".join(v.name for v in enum.values) if enum is not None else "",
        key_is_string=is_map and entry.fields_by_name["key"].type == FieldDescriptor.TYPE_STRING,
        value=_field(entry.fields_by_name["value"]) if is_map else None,
    )
    _FIELDS[descriptor] = plan
    return plan


def _kind_of(message: Message) -> str:
    descriptor = message.DESCRIPTOR
    kind = _KINDS.get(descriptor)
    if kind is None:
        kind = _KINDS[descriptor] = descriptor.full_name
    return kind


def _walk(message: Message, depth: int, skip: frozenset[str], found: _Found) -> None:
    full_name = _kind_of(message)
    if full_name in _VALUE_MESSAGES:
        _walk_value_message(message, depth, found)
        return
    if full_name == _TIMESTAMP:
        _timestamp(message, found)
        return
    if full_name == _DURATION:
        _duration(message, found)
        return
    if full_name == _MONEY:
        _money(message, found)
    for descriptor, value in message.ListFields():
        field = _FIELDS.get(descriptor) or _field(descriptor)
        if skip and field.full_name in skip:
            continue
        since = len(found)
        if field.kind == _MAP:
            _map(field, value, depth, skip, found)
        elif field.repeated:
            for index, item in enumerate(value):
                before = len(found)
                _single(field, item, depth, skip, found)
                if len(found) > before:
                    _prefix(found, before, f"[{index}]")
        else:
            _single(field, value, depth, skip, found)
        if len(found) > since:
            _prefix(found, since, field.name)


def _map(field: _Field, value: Any, depth: int, skip: frozenset[str], found: _Found) -> None:
    assert field.value is not None
    for key in value:
        if field.key_is_string:
            problem = string_problem(key)
            if problem:
                found.append(("", f"key {key!r} {problem}"))
                continue
        since = len(found)
        _single(field.value, value[key], depth, skip, found)
        if len(found) > since:
            _prefix(found, since, str(key))


def _single(field: _Field, value: Any, depth: int, skip: frozenset[str], found: _Found) -> None:
    kind = field.kind
    if kind == _MESSAGE:
        _walk(value, depth, skip, found)
    elif kind == FieldDescriptor.TYPE_STRING:
        if not value.isprintable():
            problem = string_problem(value)
            if problem:
                found.append(("", problem))
    elif kind in _FLOATING:
        if value - value != 0:  # NaN and infinities; cheaper than math.isfinite per value
            found.append(("", "must be a finite number (not NaN or infinity)"))
    elif kind == FieldDescriptor.TYPE_ENUM and value not in field.enum_numbers:
        found.append(("", f"unknown enum value {value}; one of {field.enum_names}"))


def _walk_value_message(message: Message, depth: int, found: _Found) -> None:
    """Struct, Value and ListValue: JSON-like values with finite numbers, clean text, bounded depth."""
    name = message.DESCRIPTOR.full_name
    if name == _STRUCT:
        if depth >= MAX_VALUE_DEPTH:
            found.append(("", f"is nested deeper than {MAX_VALUE_DEPTH} levels"))
            return
        for key, item in message.fields.items():
            problem = string_problem(key)
            if problem:
                found.append(("", f"key {key!r} {problem}"))
                continue
            since = len(found)
            _walk_value_message(item, depth + 1, found)
            if len(found) > since:
                _prefix(found, since, key)
    elif name == _LIST_VALUE:
        if depth >= MAX_VALUE_DEPTH:
            found.append(("", f"is nested deeper than {MAX_VALUE_DEPTH} levels"))
            return
        for index, item in enumerate(message.values):
            since = len(found)
            _walk_value_message(item, depth + 1, found)
            if len(found) > since:
                _prefix(found, since, f"[{index}]")
    else:
        kind = message.WhichOneof("kind")
        if kind == "number_value":
            problem = number_problem(message.number_value)
            if problem:
                found.append(("", problem))
        elif kind == "string_value":
            problem = string_problem(message.string_value)
            if problem:
                found.append(("", problem))
        elif kind == "struct_value":
            _walk_value_message(message.struct_value, depth, found)
        elif kind == "list_value":
            _walk_value_message(message.list_value, depth, found)


def _nanos_problem(nanos: int) -> str | None:
    if -MAX_NANOS <= nanos <= MAX_NANOS:
        return None
    return f"nanos must be between -{MAX_NANOS} and {MAX_NANOS}"


def _timestamp(message: Message, found: _Found) -> None:
    seconds, nanos = message.seconds, message.nanos
    if not MIN_TIMESTAMP_SECONDS <= seconds <= MAX_TIMESTAMP_SECONDS:
        found.append(("", "must be a time between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z"))
    elif not 0 <= nanos <= MAX_NANOS:
        found.append(("", f"nanos must be between 0 and {MAX_NANOS}"))


def _duration(message: Message, found: _Found) -> None:
    seconds, nanos = message.seconds, message.nanos
    if not -MAX_DURATION_SECONDS <= seconds <= MAX_DURATION_SECONDS:
        found.append(("", f"must be within ±{MAX_DURATION_SECONDS} seconds (10,000 years)"))
    elif (problem := _nanos_problem(nanos)) is not None:
        found.append(("", problem))
    elif (seconds > 0 and nanos < 0) or (seconds < 0 and nanos > 0):
        found.append(("", "seconds and nanos must have the same sign"))


def _money(message: Message, found: _Found) -> None:
    units, nanos = message.units, message.nanos
    if (problem := _nanos_problem(nanos)) is not None:
        found.append(("nanos", problem))
    elif (units > 0 and nanos < 0) or (units < 0 and nanos > 0):
        found.append(("", "units and nanos must have the same sign"))
