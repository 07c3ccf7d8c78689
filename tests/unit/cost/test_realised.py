"""Realised savings from daily actuals, against hand-computed values."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from paved_cost.realised import realised_saving

CHANGED = date(2024, 10, 10)


def costs(before: Decimal, after: Decimal, days_after: int) -> dict[date, Decimal]:
    daily = {CHANGED - timedelta(days=n): before for n in range(1, 21)}
    daily[CHANGED] = Decimal(999)  # the change's own day is half and half: never compared
    daily.update({CHANGED + timedelta(days=n): after for n in range(1, days_after + 1)})
    return daily


def test_five_days_after_a_change_compare_with_the_five_before() -> None:
    # $30/day before, $20/day after, today is the 6th day after: 5 full days on each side.
    found = realised_saving(costs(Decimal(30), Decimal(20), 5), CHANGED, CHANGED + timedelta(days=6))
    assert found is not None
    assert (found.days, found.before_per_day, found.after_per_day) == (5, Decimal(30), Decimal(20))
    # $10 a day x 365/12 days = $304.1666...
    assert found.monthly.quantize(Decimal("0.01")) == Decimal("304.17")


def test_the_window_is_capped_and_missing_days_cost_nothing() -> None:
    daily = costs(Decimal(30), Decimal(20), 30)
    del daily[CHANGED + timedelta(days=3)]  # a day without billing rows after the change
    found = realised_saving(daily, CHANGED, CHANGED + timedelta(days=40), max_days=14)
    assert found is not None and found.days == 14
    assert found.after_per_day == Decimal(20) * 13 / 14


def test_nothing_is_known_without_a_full_day_after_or_any_cost_before() -> None:
    assert realised_saving(costs(Decimal(30), Decimal(20), 0), CHANGED, CHANGED + timedelta(days=1)) is None
    assert realised_saving({}, CHANGED, CHANGED + timedelta(days=10)) is None


def test_a_change_that_cost_more_is_a_negative_saving() -> None:
    found = realised_saving(costs(Decimal(20), Decimal(25), 7), CHANGED, CHANGED + timedelta(days=8))
    assert found is not None and found.monthly < 0
