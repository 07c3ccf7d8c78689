"""Did the estimate hold? A service's pre-provision monthly estimate graded against FOCUS actuals of its
first days, and the grades summed per template.

    days    = full days from the day after registration (that day is partial) up to the last day
              actuals show for the service, at most ``max_days``, never today
    actual  = mean daily cost over those days x 365 / 12 (a day without a row costs 0)
    error   = (estimate - actual) / actual            positive: the estimate was too high

Per template: error of the sums, (sum estimate - sum actual) / sum actual, and the mean absolute error
of its services. No full day, or nothing spent, means no grade (an error over zero is not a number).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from paved_cost.realised import DAYS_PER_MONTH


@dataclass(frozen=True)
class Grade:
    """One service's estimate against its actuals."""

    service: str
    template: str
    team: str
    estimated_monthly: Decimal
    actual_monthly: Decimal
    days: int

    @property
    def error(self) -> float:
        return float((self.estimated_monthly - self.actual_monthly) / self.actual_monthly)


@dataclass(frozen=True)
class TemplateAccuracy:
    """The grades of one template's services together."""

    template: str
    services: int
    estimated_monthly: Decimal
    actual_monthly: Decimal
    error: float
    mean_absolute_error: float


def actual_monthly(
    daily: Mapping[date, Decimal], registered: date, today: date, max_days: int
) -> tuple[Decimal, int] | None:
    """The monthly cost actuals show after a registration on ``registered``, and the days it rests on."""
    known = [day for day in daily if registered < day < today]
    if not known:
        return None
    last = min(max(known), registered + timedelta(days=max_days))
    days = (last - registered).days
    if days < 1:
        return None
    graded = (registered + timedelta(days=n) for n in range(1, days + 1))
    total = sum((daily.get(day, Decimal(0)) for day in graded), Decimal(0))
    return total / days * DAYS_PER_MONTH, days


def per_template(grades: Iterable[Grade]) -> list[TemplateAccuracy]:
    """Grades summed per template (by name); templates whose actuals sum to zero are left out."""
    groups: dict[str, list[Grade]] = defaultdict(list)
    for grade in grades:
        groups[grade.template].append(grade)
    result = []
    for template, members in sorted(groups.items()):
        estimated = sum((g.estimated_monthly for g in members), Decimal(0))
        actual = sum((g.actual_monthly for g in members), Decimal(0))
        if actual <= 0:
            continue
        result.append(
            TemplateAccuracy(
                template,
                len(members),
                estimated,
                actual,
                float((estimated - actual) / actual),
                sum(abs(g.error) for g in members) / len(members),
            )
        )
    return result
