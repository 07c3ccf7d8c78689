"""Message conversion details that are easy to get subtly wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from google.protobuf import struct_pb2, timestamp_pb2
from paved_catalog.convert import struct_to_dict, timestamp


def test_timestamps_convert_exactly() -> None:
    moments = [
        datetime(2026, 11, 26, 5, 8, 5, 123456, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        datetime(2026, 1, 1, 12, 0),  # naive values from SQLite are UTC
        datetime(2026, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=2))),
    ]
    for moment in moments:
        expected = timestamp_pb2.Timestamp()
        expected.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        assert timestamp(moment) == expected


def test_struct_numbers_that_are_integers_come_back_as_ints() -> None:
    struct = struct_pb2.Struct()
    struct.update({"replicas": 3, "ratio": 0.5, "nested": {"port": 8080.0}, "list": [1, 2.5]})
    assert struct_to_dict(struct) == {"replicas": 3, "ratio": 0.5, "nested": {"port": 8080}, "list": [1, 2.5]}
    assert isinstance(struct_to_dict(struct)["replicas"], int)
