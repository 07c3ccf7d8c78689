"""Hypothesis strategies for any protobuf request, generated from its descriptor and biased towards
hostile values: NaN and infinities, integer bounds, out-of-range Timestamps and Durations, NUL and
non-characters, unknown enum numbers, huge and deeply nested Structs."""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st
from paved_kit.validation import string_problem

MAX_MESSAGE_DEPTH = 4

HOSTILE_TEXT = [
    "",
    "\x00",
    "a\x00b",
    "\uffff",
    "x\ufdd0",
    "\x1b[31m",
    " ",
    "x" * 5000,
    "../../etc/passwd",
    "' OR 1=1 --",
    'name = "\x00"',
    'name = "web"',
    "team = payments AND state = ACTIVE",
    "((((((((((",
    "name:*",
    "{{ .name }}",
    "${jndi:ldap://x}",
    "%s%s%n",
    "🚀",
    "web",
    "payments",
    "production",
    "templates/web-service",
    "templates/\x00",
    "services/web",
    "services/web/environments/production",
    "policies/required-tags",
    "alertRules/x",
    "operations/x",
    "teams/payments",
    "USD",
    "1e400",
    "NaN",
    "-1",
    "9" * 40,
    "2026-01-01T00:00:00Z",
    "apiVersion: platform.dev/v1\nkind: ServiceTemplate\nmetadata: {name: x}\n",
    "a: &a [1,2]\nb: [*a,*a,*a]\n",
    "resource.tags.size() > 0",
    "create_time desc",
]
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)
HOSTILE_DOUBLES = [
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    0.0,
    -0.0,
    5e-324,
    0.3,
    1.0,
    2.0**53 + 1,
    1e15,
    -1.0,
]
TIMESTAMP_SECONDS = [
    0,
    1,
    -1,
    1_780_000_000,
    -62_135_596_800,
    -62_135_596_801,
    253_402_300_799,
    253_402_300_800,
    2**62,
    INT64[0],
    INT64[1],
]
DURATION_SECONDS = [0, 1, -1, 60, 315_576_000_000, 315_576_000_001, 2**63 - 1, -(2**63), 86_400 * 365]
NANOS = [0, 1, 999_999_999, -1, 1_000_000_000, INT32[0], INT32[1]]
MIN_TIMESTAMP, MAX_TIMESTAMP = -62_135_596_800, 253_402_300_799
MAX_DURATION = 315_576_000_000


def _ints(bounds: tuple[int, int]) -> st.SearchStrategy[int]:
    low, high = bounds
    edges = [
        v for v in (low, high, 0, 1, -1, 2, 100, 1000, 2**31 - 1, 2**31, 2**32, 2**53) if low <= v <= high
    ]
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def text(hostile: bool = True) -> st.SearchStrategy[str]:
    if not hostile:
        clean = [t for t in HOSTILE_TEXT if string_problem(t) is None]
        printable = st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), max_size=30)
        return st.one_of(st.sampled_from(clean), printable)
    return st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=30))


def doubles(hostile: bool = True) -> st.SearchStrategy[float]:
    if not hostile:
        finite = [d for d in HOSTILE_DOUBLES if math.isfinite(d)]
        return st.one_of(st.sampled_from(finite), st.floats(allow_nan=False, allow_infinity=False))
    return st.one_of(st.sampled_from(HOSTILE_DOUBLES), st.floats(allow_nan=True, allow_infinity=True))


def _nested_json(levels: int) -> Any:
    value: Any = {"leaf": 1}
    for _ in range(levels):
        value = {"a": value}
    return value


def json_values(hostile: bool = True) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        doubles(hostile),
        st.sampled_from([1e300, -1e300, 2.0**63, 2.0**64, 10.0**20, 3, 0, -5]),
        text(hostile),
    )
    tree = st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(text(hostile), children, max_size=3)
        ),
        max_leaves=8,
    )
    if not hostile:
        return tree
    deep_lists: Any = []
    for _ in range(40):
        deep_lists = [deep_lists]
    return st.one_of(tree, st.sampled_from([_nested_json(40), _nested_json(60), deep_lists]))


def structs(hostile: bool = True) -> st.SearchStrategy[struct_pb2.Struct]:
    def build(value: dict[str, Any]) -> struct_pb2.Struct:
        message = struct_pb2.Struct()
        message.update(value)
        return message

    return st.dictionaries(text(hostile), json_values(hostile), max_size=4).map(build)


def values(hostile: bool = True) -> st.SearchStrategy[struct_pb2.Value]:
    def build(value: Any) -> struct_pb2.Value:
        message = struct_pb2.Value()
        holder = struct_pb2.Struct()
        holder.update({"v": value})
        message.CopyFrom(holder.fields["v"])
        return message

    return json_values(hostile).map(build)


def _scalar(field: FieldDescriptor, hostile: bool) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return text(hostile)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.sampled_from([b"", b"\x00", b"\xff" * 16]), st.binary(max_size=64))
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return doubles(hostile)
    if kind == FieldDescriptor.TYPE_ENUM:
        numbers = [v.number for v in field.enum_type.values]
        return st.sampled_from([*numbers, 99, -1] if hostile else numbers)
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return _ints(INT32)
    if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return _ints(UINT32)
    if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return _ints(UINT64)
    return _ints(INT64)


def _field_value(field: FieldDescriptor, depth: int, hostile: bool) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return messages(field.message_type, depth + 1, hostile=hostile)
    return _scalar(field, hostile)


def requests(descriptor: Descriptor) -> st.SearchStrategy[Message]:
    """Requests of ``descriptor``: half hostile (values the edge checks must refuse), half valid but
    extreme (what reaches the handlers: integer bounds, year 1 and 9999, huge finite numbers)."""
    return st.one_of(messages(descriptor, hostile=True), messages(descriptor, hostile=False))


def messages(descriptor: Descriptor, depth: int = 0, *, hostile: bool = True) -> st.SearchStrategy[Message]:
    """Messages of ``descriptor`` with any subset of fields set to hostile or ordinary values."""
    name = descriptor.full_name
    cls = GetMessageClass(descriptor)
    if name == "google.protobuf.Struct":
        return structs(hostile)
    if name == "google.protobuf.Value":
        return values(hostile)
    if name == "google.protobuf.Timestamp" or name == "google.protobuf.Duration":
        timestamp = name.endswith("Timestamp")
        seconds = TIMESTAMP_SECONDS if timestamp else DURATION_SECONDS
        if hostile:
            return st.builds(
                lambda s, n: cls(seconds=s, nanos=n),
                st.one_of(st.sampled_from(seconds), st.integers(*INT64)),
                st.sampled_from(NANOS),
            )
        low, high = (MIN_TIMESTAMP, MAX_TIMESTAMP) if timestamp else (0, MAX_DURATION)
        valid = [v for v in seconds if low <= v <= high]
        return st.builds(
            lambda s, n: cls(seconds=s, nanos=n),
            st.one_of(st.sampled_from(valid), st.integers(low, high)),
            st.sampled_from([0, 1, 999_999_999]),
        )
    if depth > MAX_MESSAGE_DEPTH:
        return st.just(cls())
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key = _scalar(field.message_type.fields_by_name["key"], hostile)
            value = _field_value(field.message_type.fields_by_name["value"], depth, hostile)
            parts[field.name] = st.none() | st.dictionaries(key, value, max_size=3)
        elif field.is_repeated:
            parts[field.name] = st.none() | st.lists(_field_value(field, depth, hostile), max_size=3)
        else:
            parts[field.name] = st.none() | _field_value(field, depth, hostile)
    return st.fixed_dictionaries(parts).map(lambda chosen: _build(cls, descriptor, chosen))


def _build(cls: type[Message], descriptor: Descriptor, chosen: dict[str, Any]) -> Message:
    message = cls()
    for field_name, value in chosen.items():
        if value is None:
            continue
        try:
            _set(message, descriptor.fields_by_name[field_name], value)
        except DecodeError:
            # Copying a value nested past protobuf's depth limit into a deeper place fails here, in
            # the client; deep values still reach the servers through shallower fields.
            message.ClearField(field_name)
    return message


def _set(message: Message, field: FieldDescriptor, value: Any) -> None:
    field_name = field.name
    target = getattr(message, field_name)
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        for key, item in value.items():
            if value_field.message_type is not None:
                target[key].CopyFrom(item)
            else:
                target[key] = item
    elif field.is_repeated:
        target.extend(value)
    elif field.message_type is not None:
        target.CopyFrom(value)
    else:
        setattr(message, field_name, value)
