"""Did it pay? The saving of a change measured on FOCUS actuals: the service's daily cost after the change
against the same number of days before it, the change's own day left out (it is half one, half the other).

    window   = min(max_days, full days of actuals after the change up to yesterday)
    before   = mean daily cost over the `window` days before the change day
    after    = mean daily cost over the `window` days after it
    realised = (before - after) x 365 / 12 a month

No full day after the change (or no cost before it) means nothing is known yet: None, never the estimate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

DAYS_PER_MONTH = Decimal(365) / Decimal(12)


@dataclass(frozen=True)
class Realised:
    """A change's measured saving."""

    days: int  # days compared on each side
    before_per_day: Decimal
    after_per_day: Decimal

    @property
    def per_day(self) -> Decimal:
        return self.before_per_day - self.after_per_day

    @property
    def monthly(self) -> Decimal:
        return self.per_day * DAYS_PER_MONTH


def realised_saving(
    daily: Mapping[date, Decimal], changed: date, today: date, max_days: int = 14
) -> Realised | None:
    """The saving of a change made on ``changed``, from the service's daily costs known on ``today``."""
    window = min(max_days, (today - changed).days - 1)
    if window < 1:
        return None
    before_days = [changed - timedelta(days=n) for n in range(1, window + 1)]
    after_days = [changed + timedelta(days=n) for n in range(1, window + 1)]
    if not any(day in daily for day in before_days):
        return None
    before = sum((daily.get(day, Decimal(0)) for day in before_days), Decimal(0)) / window
    after = sum((daily.get(day, Decimal(0)) for day in after_days), Decimal(0)) / window
    return Realised(window, before, after)


@dataclass(frozen=True)
class TeamSavings:
    """What one team's optimizations saved, as far as actuals tell yet."""

    team: str
    optimizations: int
    measured: int
    per_day: Decimal
    monthly: Decimal


def team_savings(changes: Iterable[tuple[str, Realised | None]]) -> list[TeamSavings]:
    """Per team (by name): how many changes, how many measured, and the sum of the measured savings (a
    change not measured yet adds nothing, never its estimate)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_day: dict[str, Decimal] = defaultdict(Decimal)
    for team, measured in changes:
        counts[team][0] += 1
        if measured is not None:
            counts[team][1] += 1
            per_day[team] += measured.per_day
    return [
        TeamSavings(team, total, measured, per_day[team], per_day[team] * DAYS_PER_MONTH)
        for team, (total, measured) in sorted(counts.items())
    ]
