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
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
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
_FLOATING = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)


def string_problem(value: str) -> str | None:
    """Why ``value`` cannot be accepted as text (a control character or non-character), or None."""
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
    violations: list[FieldViolation] = []
    for violation in _walk(message, "", 0, handler_checked):
        violations.append(violation)
        if len(violations) >= MAX_VIOLATIONS:
            break
    return violations


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _walk(message: Message, path: str, depth: int, skip: frozenset[str]) -> Iterator[FieldViolation]:
    descriptor: Descriptor = message.DESCRIPTOR
    full_name = descriptor.full_name
    if full_name in (_STRUCT, _VALUE, _LIST_VALUE):
        yield from _walk_value_message(message, path, depth)
        return
    if full_name == _TIMESTAMP:
        yield from _timestamp(message, path)
        return
    if full_name == _DURATION:
        yield from _duration(message, path)
        return
    if full_name == _MONEY:
        yield from _money(message, path)
    for field, value in message.ListFields():
        if field.full_name in skip:
            continue
        field_path = _join(path, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            yield from _map(field, value, field_path, depth, skip)
        elif field.is_repeated:
            for index, item in enumerate(value):
                yield from _single(field, item, f"{field_path}[{index}]", depth, skip)
        else:
            yield from _single(field, value, field_path, depth, skip)


def _map(
    field: FieldDescriptor, value: Any, path: str, depth: int, skip: frozenset[str]
) -> Iterator[FieldViolation]:
    key_field = field.message_type.fields_by_name["key"]
    value_field = field.message_type.fields_by_name["value"]
    for key in value:
        if key_field.type == FieldDescriptor.TYPE_STRING:
            problem = string_problem(key)
            if problem:
                yield FieldViolation(path, f"key {key!r} {problem}")
                continue
        yield from _single(value_field, value[key], f"{path}.{key}", depth, skip)


def _single(
    field: FieldDescriptor, value: Any, path: str, depth: int, skip: frozenset[str]
) -> Iterator[FieldViolation]:
    if field.type in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
        yield from _walk(value, path, depth, skip)
    elif field.type == FieldDescriptor.TYPE_STRING:
        problem = string_problem(value)
        if problem:
            yield FieldViolation(path, problem)
    elif field.type in _FLOATING:
        problem = number_problem(value)
        if problem:
            yield FieldViolation(path, problem)
    elif field.type == FieldDescriptor.TYPE_ENUM and field.enum_type.values_by_number.get(value) is None:
        known = ", ".join(v.name for v in field.enum_type.values)
        yield FieldViolation(path, f"unknown enum value {value}; one of {known}")


def _walk_value_message(message: Message, path: str, depth: int) -> Iterator[FieldViolation]:
    """Struct, Value and ListValue: JSON-like values with finite numbers, clean text, bounded depth."""
    name = message.DESCRIPTOR.full_name
    if name == _STRUCT:
        if depth >= MAX_VALUE_DEPTH:
            yield FieldViolation(path, f"is nested deeper than {MAX_VALUE_DEPTH} levels")
            return
        for key, item in message.fields.items():
            problem = string_problem(key)
            if problem:
                yield FieldViolation(path, f"key {key!r} {problem}")
                continue
            yield from _walk_value_message(item, _join(path, key), depth + 1)
    elif name == _LIST_VALUE:
        if depth >= MAX_VALUE_DEPTH:
            yield FieldViolation(path, f"is nested deeper than {MAX_VALUE_DEPTH} levels")
            return
        for index, item in enumerate(message.values):
            yield from _walk_value_message(item, f"{path}[{index}]", depth + 1)
    else:
        kind = message.WhichOneof("kind")
        if kind == "number_value":
            problem = number_problem(message.number_value)
            if problem:
                yield FieldViolation(path, problem)
        elif kind == "string_value":
            problem = string_problem(message.string_value)
            if problem:
                yield FieldViolation(path, problem)
        elif kind == "struct_value":
            yield from _walk_value_message(message.struct_value, path, depth)
        elif kind == "list_value":
            yield from _walk_value_message(message.list_value, path, depth)


def _nanos_problem(nanos: int) -> str | None:
    if -MAX_NANOS <= nanos <= MAX_NANOS:
        return None
    return f"nanos must be between -{MAX_NANOS} and {MAX_NANOS}"


def _timestamp(message: Message, path: str) -> Iterator[FieldViolation]:
    seconds, nanos = message.seconds, message.nanos
    if not MIN_TIMESTAMP_SECONDS <= seconds <= MAX_TIMESTAMP_SECONDS:
        yield FieldViolation(path, "must be a time between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
    elif not 0 <= nanos <= MAX_NANOS:
        yield FieldViolation(path, f"nanos must be between 0 and {MAX_NANOS}")


def _duration(message: Message, path: str) -> Iterator[FieldViolation]:
    seconds, nanos = message.seconds, message.nanos
    if not -MAX_DURATION_SECONDS <= seconds <= MAX_DURATION_SECONDS:
        yield FieldViolation(path, f"must be within ±{MAX_DURATION_SECONDS} seconds (10,000 years)")
    elif (problem := _nanos_problem(nanos)) is not None:
        yield FieldViolation(path, problem)
    elif (seconds > 0 and nanos < 0) or (seconds < 0 and nanos > 0):
        yield FieldViolation(path, "seconds and nanos must have the same sign")


def _money(message: Message, path: str) -> Iterator[FieldViolation]:
    units, nanos = message.units, message.nanos
    if (problem := _nanos_problem(nanos)) is not None:
        yield FieldViolation(_join(path, "nanos"), problem)
    elif (units > 0 and nanos < 0) or (units < 0 and nanos > 0):
        yield FieldViolation(path, "units and nanos must have the same sign")
