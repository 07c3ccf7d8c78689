"""Reports over stored costs: a service's and each team's month, billing summaries, recommendations, ROI."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from paved_kit.errors import FieldViolation, InvalidArgument, NotFound
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import store
from paved_cost.attribution import bare_service_name
from paved_cost.contract_commitments import CommitmentUse, commitment_use
from paved_cost.forecast import Month, Projection, Trend, project_month, trend
from paved_cost.prices import PriceCatalog
from paved_cost.realised import realised_saving
from paved_cost.recommendations import (
    CommitmentCover,
    ComputeResource,
    Recommendation,
    Utilization,
    recommend,
)
from paved_cost.roi import Roi, platform_roi
from paved_cost.settings import CostSettings

REALISED_WINDOW_DAYS = 14  # days compared on each side of a change


@dataclass(frozen=True)
class MonthReport:
    """A month of one service or team: to date, forecast, previous month, trend."""

    name: str
    current: Decimal
    projected: Decimal
    previous: Decimal
    trend: Trend
    method: str
    daily: list[tuple[date, Decimal]]
    services: int = 0


@dataclass(frozen=True)
class ServiceReport:
    report: MonthReport
    team: str
    estimated_monthly_cost: Decimal | None
    # Each registered environment's monthly estimate, by environment name.
    environments: dict[str, Decimal | None] = field(default_factory=dict)


@dataclass(frozen=True)
class TeamReports:
    month: Month
    teams: list[MonthReport]
    unallocated: Decimal
    total: Decimal


@dataclass(frozen=True)
class RoiReport:
    roi: Roi
    realized_savings: Decimal
    average_utilization: float
    cost_per_service: Decimal


def parse_month(text: str, today: date, field: str = "month") -> Month:
    if not text:
        return Month.of(today)
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise InvalidArgument("invalid month", [FieldViolation(field, str(exc))]) from None


class CostAnalysis:
    """Reads what ingest and tracking stored and turns it into reports; ``clock`` says what "now" is."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: CostSettings,
        catalog: PriceCatalog,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._catalog = catalog
        self._clock = clock

    @property
    def currency(self) -> str:
        return self._settings.currency

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    def _window(self, month: Month, today: date) -> tuple[date, date]:
        start = min(month.previous().first_day, today - timedelta(days=self._settings.forecast_lookback_days))
        return start, max(month.end, today + timedelta(days=1))

    def _report(self, name: str, daily: dict[date, Decimal], month: Month, today: date) -> MonthReport:
        projection: Projection = project_month(daily, month, today, self._settings.forecast_lookback_days)
        previous = month.previous()
        previous_total = sum(
            (cost for day, cost in daily.items() if previous.first_day <= day < previous.end), Decimal(0)
        )
        in_month = sorted((day, cost) for day, cost in daily.items() if month.first_day <= day < month.end)
        return MonthReport(
            name=name,
            current=projection.current,
            projected=projection.projected,
            previous=previous_total,
            trend=trend(projection.projected, previous_total, self._settings.trend_flat_percent),
            method=projection.method,
            daily=in_month,
        )

    async def service_cost(self, service: str, month_text: str) -> ServiceReport:
        """A service's month; a registered service without any cost yet reports zeros (it may be brand
        new); a service neither registered nor ever billed is NOT_FOUND."""
        name = bare_service_name(service)
        if not name:
            raise InvalidArgument("service is required", [FieldViolation("service", "must not be empty")])
        today = self._clock().date()
        month = parse_month(month_text, today)
        start, end = self._window(month, today)
        async with self._sessions() as session:
            amounts = await store.daily_costs(
                session=session, start=start, end=end, currency=self.currency, service=name
            )
            registration = await store.get_registration(session=session, service=name)
            estimates = await store.environment_estimates(session=session, service=name)
            known = (
                registration is not None
                or bool(amounts)
                or await store.has_costs(session=session, service=name)
            )
        if not known:
            raise NotFound(
                f"services/{name} has no cost data: it is neither registered for cost tracking nor billed",
                metadata={"service": name},
            )
        daily: dict[date, Decimal] = defaultdict(Decimal)
        teams: dict[str, Decimal] = defaultdict(Decimal)
        for amount in amounts:
            daily[amount.day] += amount.cost
            if amount.team:
                teams[amount.team] += amount.cost
        team = registration.team if registration else max(teams, key=lambda t: teams[t], default="")
        return ServiceReport(
            self._report(name, dict(daily), month, today),
            team,
            registration.estimated_monthly_cost if registration else None,
            {e.environment: e.estimated_monthly_cost for e in estimates},
        )

    async def team_costs(self, month_text: str, team_filter: str) -> TeamReports:
        """Every team's month (or one team's), and the cost no tag or registration attributes to a team."""
        today = self._clock().date()
        month = parse_month(month_text, today)
        start, end = self._window(month, today)
        month_end = min(month.end, today + timedelta(days=1))
        async with self._sessions() as session:
            rows = await store.team_report_rows(
                session=session,
                start=start,
                end=end,
                month=(month.first_day, month_end),
                currency=self.currency,
            )
            registrations = (
                {r.service: r.team for r in await store.list_registrations(session=session)}
                if any(a.team is None and a.service for a in rows.amounts)
                else {}
            )
        per_team: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        # Services a registration attributes to a team, beyond those its tags name (counted by the store).
        registered: dict[str, set[str]] = defaultdict(set)
        unallocated = Decimal(0)
        for amount in rows.amounts:
            team = amount.team or (registrations.get(amount.service) if amount.service else None)
            in_month = month.first_day <= amount.day < month_end
            if team is None:
                if in_month:
                    unallocated += amount.cost
                continue
            per_team[team][amount.day] += amount.cost
            service = amount.service
            if in_month and amount.team is None and service and (team, service) not in rows.tagged_pairs:
                registered[team].add(service)
        reports = []
        for team in sorted(per_team):
            if team_filter and team != team_filter:
                continue
            report = self._report(team, dict(per_team[team]), month, today)
            if not (report.current or report.projected or report.previous) and team != team_filter:
                continue  # its cost lies only in the look-back days: nothing to say about this month
            services = rows.tagged_services.get(team, 0) + len(registered[team])
            reports.append(replace(report, services=services, daily=[]))
        if team_filter:
            unallocated = Decimal(0)
        total = sum((r.current for r in reports), Decimal(0)) + unallocated
        return TeamReports(month, reports, unallocated, total)

    async def summarize(self, group_by: str, month_text: str) -> list[tuple[str, Decimal, Decimal, int]]:
        if group_by not in store.GROUPABLE:
            raise InvalidArgument(
                "invalid group_by",
                [FieldViolation("group_by", f"must be one of {', '.join(store.GROUPABLE)}")],
            )
        start = end = None
        if month_text:
            month = parse_month(month_text, self._clock().date())
            start = datetime.combine(month.first_day, datetime.min.time(), tzinfo=self._clock().tzinfo)
            end = datetime.combine(month.end, datetime.min.time(), tzinfo=self._clock().tzinfo)
        async with self._sessions() as session:
            return await store.billing_totals(session=session, group_by=group_by, start=start, end=end)

    async def commitment_utilisation(self, month_text: str) -> tuple[Month, list[CommitmentUse]]:
        """Each contract commitment active in the month with what the month's charges applied to it."""
        month = parse_month(month_text, self._clock().date())
        start, end = _midnight(month.first_day), _midnight(month.end)
        async with self._sessions() as session:
            commitments = await store.contract_commitments(session=session)
            applied = (
                await store.contract_applied_rows(session=session, start=start, end=end)
                if commitments
                else []
            )
        uses, _ = commitment_use(commitments, applied, start, end)
        return month, sorted(uses, key=lambda use: use.commitment.contract_commitment_id)

    async def recommendations(self) -> list[Recommendation]:
        """Every current recommendation for tracked compute."""
        now = self._clock()
        thresholds = self._settings.recommendations
        this_month = Month.of(now.date())
        first = this_month
        for _ in range(thresholds.reserved_min_months):
            first = first.previous()
        async with self._sessions() as session:
            tracked = await store.list_resources(session=session)
            stats = await store.utilization_stats(
                session=session, since=now - timedelta(days=thresholds.utilization_lookback_days)
            )
            amounts = await store.daily_costs(
                session=session, start=first.first_day, end=this_month.first_day, currency=self.currency
            )
            last = this_month.previous()
            window = (_midnight(last.first_day), _midnight(this_month.first_day))
            commitments = await store.contract_commitments(session=session)
            applied = (
                await store.contract_applied_rows(session=session, start=window[0], end=window[1])
                if commitments
                else []
            )
        uses, per_service = commitment_use(commitments, applied, *window)
        cover = CommitmentCover(uses, per_service)
        resources = []
        for row in tracked:
            if row.type != "compute":
                continue
            resource = ComputeResource.from_properties(
                service=row.service,
                team=row.team,
                environment=row.environment,
                resource=row.resource,
                properties=json.loads(row.properties),
                default_region=self._catalog.default_region,
                registered_at=row.registered_at,
            )
            if resource is not None:
                resources.append(resource)
        averages: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
        counts: dict[tuple[str, str], int] = {}
        for stat in stats:
            key = (stat.service, stat.resource)
            averages[key][stat.metric] = stat.average
            counts[key] = min(counts.get(key, stat.samples), stat.samples)
        utilization = {key: Utilization(values, counts[key]) for key, values in averages.items()}
        tracked_services = {r.service for r in resources}
        monthly: dict[str, dict[Month, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for amount in amounts:
            if amount.service in tracked_services:
                monthly[amount.service][Month.of(amount.day)] += amount.cost
        months: dict[str, list[tuple[Month, Decimal]]] = {}
        for service, costs in monthly.items():
            series, cursor = [], first
            while cursor != this_month:
                series.append((cursor, costs.get(cursor, Decimal(0))))
                cursor = cursor.next()
            months[service] = series
        return recommend(resources, utilization, months, self._catalog, thresholds, now, cover)

    async def roi(
        self,
        *,
        deployments: int,
        services_created: int,
        incidents_avoided: int,
        start: datetime,
        end: datetime,
    ) -> RoiReport:
        seconds = Decimal(str((end - start).total_seconds()))
        days = (seconds / 86400).quantize(Decimal("0.01"))
        result = platform_roi(
            self._settings.roi,
            deployments=deployments,
            services_created=services_created,
            incidents_avoided=incidents_avoided,
            period_days=days,
        )
        async with self._sessions() as session:
            realized = await self._realised_savings(session, start, end)
            utilization = await store.average_utilization(session=session, since=start)
            amounts = await store.daily_costs(
                session=session,
                start=start.date(),
                end=end.date() + timedelta(days=1),
                currency=self.currency,
            )
            registrations = await store.list_registrations(session=session)
        services = {a.service for a in amounts if a.service} | {r.service for r in registrations}
        total = sum((a.cost for a in amounts if a.service), Decimal(0))
        per_service = total / len(services) if services else Decimal(0)
        return RoiReport(result, realized, utilization or 0.0, per_service)

    async def _realised_savings(self, session: AsyncSession, start: datetime, end: datetime) -> Decimal:
        """Monthly savings of the optimizations applied in the period, measured on FOCUS actuals (a change
        without a full day of actuals after it counts nothing yet, not its estimate)."""
        today = self._clock().date()
        total = Decimal(0)
        for applied in await store.applied_optimizations(
            session=session, start=start, end=end, currency=self.currency
        ):
            changed = applied.applied_at.date()
            amounts = await store.daily_costs(
                session=session,
                start=changed - timedelta(days=REALISED_WINDOW_DAYS),
                end=changed + timedelta(days=REALISED_WINDOW_DAYS + 1),
                currency=self.currency,
                service=applied.service,
            )
            daily: dict[date, Decimal] = defaultdict(Decimal)
            for amount in amounts:
                daily[amount.day] += amount.cost
            measured = realised_saving(daily, changed, today, REALISED_WINDOW_DAYS)
            if measured is not None:
                total += measured.monthly
        return total.quantize(Decimal("0.01"))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)
