"""Outcomes against actuals: what applied optimizations saved, and how Paved's pre-provision estimates held,
both read from the FOCUS daily costs the cost service stores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from paved_kit.errors import FieldViolation, InvalidArgument
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import store
from paved_cost.analysis import REALISED_WINDOW_DAYS
from paved_cost.attribution import bare_service_name
from paved_cost.estimate_accuracy import Grade, TemplateAccuracy, actual_monthly, per_template
from paved_cost.models import AppliedOptimization
from paved_cost.realised import Realised, TeamSavings, realised_saving, team_savings

DEFAULT_HISTORY = timedelta(days=90)
DEFAULT_GRADED_DAYS = 30
MAX_GRADED_DAYS = 90


@dataclass(frozen=True)
class MeasuredOptimization:
    """An applied optimization, its team and what actuals show so far (None: nothing yet)."""

    applied: AppliedOptimization
    team: str
    realised: Realised | None

    @property
    def change(self) -> str:
        a = self.applied
        if a.from_instance_type != a.to_instance_type:
            return f"instance type {a.from_instance_type} -> {a.to_instance_type}"
        return a.recommendation


@dataclass(frozen=True)
class OptimizationHistory:
    optimizations: list[MeasuredOptimization]  # newest first
    teams: list[TeamSavings]


@dataclass(frozen=True)
class EstimateAccuracy:
    templates: list[TemplateAccuracy]
    services: list[Grade]
    ungraded: int


class Outcomes:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], currency: str, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._currency = currency
        self._clock = clock

    async def optimizations(
        self, *, teams: Sequence[str], service: str, start: datetime | None, end: datetime | None
    ) -> OptimizationHistory:
        """Applied optimizations in [start, end] with their realised savings, and the sums per team."""
        end = end or self._clock()
        start = start or end - DEFAULT_HISTORY
        if start >= end:
            raise InvalidArgument("invalid period", [FieldViolation("start_time", "must be before end_time")])
        service = bare_service_name(service)
        today = self._clock().date()
        measured = []
        async with self._sessions() as session:
            owners = {r.service: r.team for r in await store.list_registrations(session=session)}
            applied = await store.applied_optimizations(
                session=session, start=start, end=end, currency=self._currency
            )
            for row in applied:
                owner = owners.get(row.service, "")
                if (service and row.service != service) or (teams and owner not in teams):
                    continue
                daily = await self._daily(session, row.service, row.applied_at.date())
                measured.append(
                    MeasuredOptimization(
                        row, owner, realised_saving(daily, row.applied_at.date(), today, REALISED_WINDOW_DAYS)
                    )
                )
        measured.sort(key=lambda m: (m.applied.applied_at, m.applied.id or 0), reverse=True)
        return OptimizationHistory(measured, team_savings((m.team, m.realised) for m in measured))

    async def _daily(self, session: AsyncSession, service: str, around: date) -> dict[date, Decimal]:
        amounts = await store.daily_costs(
            session=session,
            start=around - timedelta(days=REALISED_WINDOW_DAYS),
            end=around + timedelta(days=REALISED_WINDOW_DAYS + 1),
            currency=self._currency,
            service=service,
        )
        daily: dict[date, Decimal] = defaultdict(Decimal)
        for amount in amounts:
            daily[amount.day] += amount.cost
        return daily

    async def estimate_accuracy(self, *, teams: Sequence[str], days: int) -> EstimateAccuracy:
        """Every registered service's estimate graded against its first ``days`` days of actuals."""
        days = days or DEFAULT_GRADED_DAYS
        if not 1 <= days <= MAX_GRADED_DAYS:
            raise InvalidArgument(
                "invalid days", [FieldViolation("days", f"must be between 1 and {MAX_GRADED_DAYS}")]
            )
        today = self._clock().date()
        grades, ungraded = [], 0
        async with self._sessions() as session:
            for registration in await store.list_registrations(session=session):
                if registration.estimated_monthly_cost is None or registration.currency != self._currency:
                    continue
                if teams and registration.team not in teams:
                    continue
                registered = registration.registered_at.date()
                amounts = await store.daily_costs(
                    session=session,
                    start=registered,
                    end=registered + timedelta(days=days + 1),
                    currency=self._currency,
                    service=registration.service,
                )
                daily: dict[date, Decimal] = defaultdict(Decimal)
                for amount in amounts:
                    daily[amount.day] += amount.cost
                actual = actual_monthly(daily, registered, today, days)
                if actual is None or actual[0] <= 0:
                    ungraded += 1
                    continue
                grades.append(
                    Grade(
                        registration.service,
                        registration.template,
                        registration.team,
                        registration.estimated_monthly_cost,
                        actual[0],
                        actual[1],
                    )
                )
        grades.sort(key=lambda g: (g.template, g.service))
        return EstimateAccuracy(per_template(grades), grades, ungraded)
