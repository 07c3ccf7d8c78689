"""Month-end forecast from daily costs, and the trend against the previous month.

Method (``weekday-weighted-run-rate``): the mean daily cost of the last N complete days (N = 14 by
default) is learnt separately for weekdays and weekend days, and each remaining day of the month
(today included, since today is incomplete) is forecast with the mean of its kind; the forecast is the
cost of the complete days plus those forecasts. Why: cloud cost is mostly a steady run rate, often lower
on weekends (dev environments scaled down, batch jobs on weekdays); a two-week window holds two of each
weekday, follows a recent change of run rate within days, and is not thrown by one spiky day as a
straight line through a single day is. A regression would extrapolate a one-off spike into a trend.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum
from functools import cached_property

METHOD = "weekday-weighted-run-rate"


class Direction(Enum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"
    NEW = "new"


MIN_YEAR = 1900
MAX_YEAR = 9998


@dataclass(frozen=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYY-MM``; raises ValueError otherwise."""
        year, sep, month = text.partition("-")
        if not sep or len(year) != 4 or len(month) != 2 or not year.isdigit() or not month.isdigit():
            raise ValueError("must be YYYY-MM")
        if not 1 <= int(month) <= 12:
            raise ValueError("month must be 01-12")
        # Reports look at the previous and the next month too: keep both inside the calendar.
        if not MIN_YEAR <= int(year) <= MAX_YEAR:
            raise ValueError(f"year must be {MIN_YEAR}-{MAX_YEAR}")
        return cls(int(year), int(month))

    # Computed once per month: reports compare every day of every team's history with these.
    @cached_property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @cached_property
    def end(self) -> date:
        """First day of the next month (exclusive end)."""
        return self.next().first_day

    @cached_property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Projection:
    """Month to date, the forecast for the whole month, and how it was made."""

    current: Decimal
    projected: Decimal
    method: str


def project_month(
    daily: Mapping[date, Decimal], month: Month, today: date, lookback_days: int = 14
) -> Projection:
    """Forecast ``month`` from ``daily`` costs (missing days cost 0) as seen on ``today``.

    A month already over is its actual total; a month not begun yet is forecast entirely.
    """
    in_month = [day for day in daily if month.first_day <= day < month.end]
    current = sum((daily[day] for day in in_month if day <= today), Decimal(0))
    if today >= month.end:
        return Projection(current, current, "actual")
    first_open = max(today, month.first_day)
    complete = sum((daily[day] for day in in_month if day < first_open), Decimal(0))
    # Days before the first cost ever seen are not zero-cost days: the service did not exist yet.
    first_seen = min(daily, default=today)
    window = [today - timedelta(days=n) for n in range(1, lookback_days + 1)]
    window = [day for day in window if day >= first_seen]
    if not any(day in daily for day in window):
        # No history at all: the month to date is all we know.
        return Projection(current, current, "month-to-date")
    weekday = [daily.get(day, Decimal(0)) for day in window if day.weekday() < 5]
    weekend = [daily.get(day, Decimal(0)) for day in window if day.weekday() >= 5]
    overall = sum(weekday + weekend, Decimal(0)) / len(window)
    weekday_rate = sum(weekday, Decimal(0)) / len(weekday) if weekday else overall
    weekend_rate = sum(weekend, Decimal(0)) / len(weekend) if weekend else overall
    remaining = Decimal(0)
    day = first_open
    while day < month.end:
        remaining += weekday_rate if day.weekday() < 5 else weekend_rate
        day += timedelta(days=1)
    return Projection(current, complete + remaining, f"{METHOD}-{lookback_days}d")


@dataclass(frozen=True)
class Trend:
    direction: Direction
    percent: float


def trend(projected: Decimal, previous: Decimal, flat_percent: float = 5.0) -> Trend:
    """Projected vs previous month; within ±``flat_percent`` is flat. No previous cost but some now: NEW,
    without a percentage (a change from zero has none; "+100%" would be made up)."""
    if previous == 0:
        if projected == 0:
            return Trend(Direction.FLAT, 0.0)
        return Trend(Direction.NEW, 0.0)
    percent = float((projected - previous) / abs(previous) * 100)
    if abs(percent) <= flat_percent:
        return Trend(Direction.FLAT, round(percent, 2))
    return Trend(Direction.UP if percent > 0 else Direction.DOWN, round(percent, 2))
