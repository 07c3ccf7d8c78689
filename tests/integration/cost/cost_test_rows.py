"""Builders of synthetic FOCUS rows shared by the cost integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from paved.cost.v1 import cost_pb2


def day_row(service: str, team: str, day: date, amount: Decimal) -> cost_pb2.FocusRow:
    row = cost_pb2.FocusRow(
        billed_cost=str(amount),
        effective_cost=str(amount),
        billing_currency="USD",
        charge_category="Usage",
        provider_name="AWS",
        tags={"service": service, "team": team},
    )
    first = date(day.year, day.month, 1)
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    row.billing_period_start.FromDatetime(datetime(first.year, first.month, 1, tzinfo=UTC))
    row.billing_period_end.FromDatetime(datetime(following.year, following.month, 1, tzinfo=UTC))
    row.charge_period_start.FromDatetime(datetime(day.year, day.month, day.day, tzinfo=UTC))
    row.charge_period_end.FromDatetime(datetime(day.year, day.month, day.day, 23, tzinfo=UTC))
    return row


def stream(
    rows: list[cost_pb2.FocusRow], source: str = "synthetic"
) -> Iterator[cost_pb2.ImportBillingRequest]:
    yield cost_pb2.ImportBillingRequest(header=cost_pb2.ImportHeader(source=source))
    yield cost_pb2.ImportBillingRequest(rows=cost_pb2.FocusRows(rows=rows))


def days(start: date, end: date) -> Iterator[date]:
    while start < end:
        yield start
        start += timedelta(days=1)
