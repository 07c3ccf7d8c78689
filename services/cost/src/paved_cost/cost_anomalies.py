"""Cost anomalies (pure): days whose EffectiveCost departs from the days before it, and the FOCUS dimension
values that moved most that day.

A day is scored against the median of up to ``window`` days before it with a robust scale (1.4826 x MAD,
floored at 5 % of the median so a flat series does not make cents anomalous), the median/MAD score of the
alerting service's detector; a day needs ``min_history`` days before it. Daily cost has too few points for
a seasonal decomposition over the weeks a bill holds, so the weekly cycle is left to the floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

MAD_SCALE = 1.4826
SENSITIVITIES: dict[str, float] = {"low": 7.0, "medium": 5.5, "high": 4.0}
DIMENSIONS = ("SkuId", "RegionId", "ServiceName", "ChargeCategory")  # most specific first
WINDOW = 14
MIN_HISTORY = 7
SCALE_FLOOR = 0.05


@dataclass(frozen=True)
class DayScore:
    day: date
    cost: Decimal
    expected: Decimal
    score: float


@dataclass(frozen=True)
class Driver:
    dimension: str
    value: str
    cost: Decimal
    usual: Decimal

    @property
    def change(self) -> Decimal:
        return self.cost - self.usual


def anomalous_days(
    daily: Mapping[date, Decimal],
    threshold: float,
    since: date,
    window: int = WINDOW,
    min_history: int = MIN_HISTORY,
) -> list[DayScore]:
    """Days from ``since`` on whose cost scores beyond ``threshold``; days without rows cost nothing."""
    if not daily:
        return []
    first, last = min(daily), max(daily)
    found = []
    day = max(since, first + timedelta(days=min_history))
    while day <= last:
        before = [
            float(daily.get(day - timedelta(days=k), Decimal(0)))
            for k in range(1, window + 1)
            if day - timedelta(days=k) >= first
        ]
        if len(before) >= min_history:
            middle = median(before)
            mad = median(abs(value - middle) for value in before) * MAD_SCALE
            scale = max(mad, SCALE_FLOOR * abs(middle), 0.01)
            cost = daily.get(day, Decimal(0))
            score = (float(cost) - middle) / scale
            if abs(score) > threshold:
                found.append(DayScore(day, cost, Decimal(str(round(middle, 6))), round(score, 2)))
        day += timedelta(days=1)
    return found


def drivers(
    on_day: Mapping[tuple[str, str], Decimal],
    before: Mapping[tuple[str, str], Decimal],
    days_before: int,
    limit: int = 5,
) -> list[Driver]:
    """The (dimension, value) pairs whose cost moved most against their daily mean before."""
    keys = set(on_day) | set(before)
    moved = [
        Driver(
            dimension,
            value,
            on_day.get((dimension, value), Decimal(0)),
            before.get((dimension, value), Decimal(0)) / max(days_before, 1),
        )
        for dimension, value in keys
    ]
    moved = [driver for driver in moved if driver.change != 0]

    # The move weighted by how much of the value's cost that day is new: a SKU that is all of its service's
    # move ranks above the service (whose usual cost dilutes it), and a tiny value's jump ranks low. Ties go
    # to the most specific dimension.
    def weight(driver: Driver) -> Decimal:
        change = abs(driver.change)
        return change * change / (abs(driver.usual) + change)

    moved.sort(key=lambda driver: (-weight(driver), DIMENSIONS.index(driver.dimension), driver.value))
    return moved[:limit]
