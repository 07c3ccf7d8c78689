"""Edge checks of request messages: every hostile value is named by its field, clean requests pass."""

from __future__ import annotations

import pytest
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2, type_pb2
from google.rpc import error_details_pb2
from google.type import money_pb2
from paved_kit.errors import FieldViolation
from paved_kit.validation import MAX_VALUE_DEPTH, request_violations


def nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def struct(value: dict[str, object]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def test_a_clean_request_has_no_violations() -> None:
    deep = nested(MAX_VALUE_DEPTH - 1)
    message = struct({"name": "web", "replicas": 3, "tags": ["a", "b\tc\n"], "deep": deep})
    assert request_violations(message) == []


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf"), float("1e400")])
def test_non_finite_numbers_in_a_struct_are_named(number: float) -> None:
    message = struct({"parameters": {"replicas": number, "ok": 1e308}})
    assert request_violations(message) == [
        FieldViolation("parameters.replicas", "must be a finite number (not NaN or infinity)")
    ]


def test_non_finite_numbers_inside_lists_carry_their_index() -> None:
    message = struct({"sizes": [1, 2, float("nan")]})
    assert [v.field for v in request_violations(message)] == ["sizes[2]"]


def test_structs_nested_past_the_limit_are_refused_once() -> None:
    violations = request_violations(struct(nested(MAX_VALUE_DEPTH + 5)))
    assert len(violations) == 1
    assert violations[0].field == ".".join(["a"] * MAX_VALUE_DEPTH)
    assert "nested deeper than 32 levels" in violations[0].description


@pytest.mark.parametrize("text", ["a\x00b", "\uffff", "x\ufdd0", "\U0010ffff", "bell\x07", "del\x7f"])
def test_control_and_non_characters_in_strings_are_refused(text: str) -> None:
    message = error_details_pb2.BadRequest.FieldViolation(field="ok", description=text)
    violations = request_violations(message)
    assert [v.field for v in violations] == ["description"]
    assert "U+" in violations[0].description


def test_struct_keys_are_checked_too() -> None:
    violations = request_violations(struct({"bad\x00key": 1}))
    assert len(violations) == 1 and "key" in violations[0].description


@pytest.mark.parametrize(
    ("seconds", "nanos", "ok"),
    [
        (0, 0, True),
        (253_402_300_799, 999_999_999, True),
        (-62_135_596_800, 0, True),
        (253_402_300_800, 0, False),
        (-62_135_596_801, 0, False),
        (2**63 - 1, 0, False),
        (0, -1, False),
        (0, 1_000_000_000, False),
    ],
)
def test_timestamps_outside_their_documented_range_are_refused(seconds: int, nanos: int, ok: bool) -> None:
    violations = request_violations(timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos))
    assert (violations == []) is ok


@pytest.mark.parametrize(
    ("seconds", "nanos", "ok"),
    [
        (30, 0, True),
        (-5, -1, True),
        (315_576_000_000, 0, True),
        (2**63 - 1, 0, False),
        (315_576_000_001, 0, False),
        (1, -1, False),
        (0, 2_000_000_000, False),
    ],
)
def test_durations_outside_their_documented_range_are_refused(seconds: int, nanos: int, ok: bool) -> None:
    violations = request_violations(duration_pb2.Duration(seconds=seconds, nanos=nanos))
    assert (violations == []) is ok


def test_money_with_mixed_signs_or_too_many_nanos_is_refused() -> None:
    assert request_violations(money_pb2.Money(currency_code="USD", units=3, nanos=500_000_000)) == []
    assert request_violations(money_pb2.Money(currency_code="USD", units=3, nanos=-5))
    assert request_violations(money_pb2.Money(currency_code="USD", nanos=1_000_000_000))


def test_unknown_enum_numbers_are_refused() -> None:
    assert request_violations(type_pb2.Field(kind=type_pb2.Field.TYPE_STRING)) == []
    violations = request_violations(type_pb2.Field(kind=99))  # type: ignore[arg-type]
    assert [v.field for v in violations] == ["kind"]
    assert "unknown enum value 99" in violations[0].description


def test_at_most_twenty_violations_are_reported() -> None:
    message = struct({f"k{i}": float("nan") for i in range(100)})
    assert len(request_violations(message)) == 20


def test_fields_left_to_their_handlers_are_skipped() -> None:
    message = type_pb2.Field(kind=99, name="a\x00")  # type: ignore[arg-type]
    violations = request_violations(message, handler_checked=frozenset({"google.protobuf.Field.kind"}))
    assert [v.field for v in violations] == ["name"]
