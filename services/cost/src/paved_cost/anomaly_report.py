"""Cost anomalies of services and teams from the imported FOCUS rows, with the dimensions behind each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from paved_kit.errors import FieldViolation, InvalidArgument
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import store
from paved_cost.cost_anomalies import SENSITIVITIES, WINDOW, DayScore, Driver, anomalous_days, drivers

MAX_DAYS = 90
DEFAULT_DAYS = 30
DNS_LABEL_MAX = 63


@dataclass(frozen=True)
class CostAnomaly:
    scope: str  # service or team
    name: str
    found: DayScore
    drivers: list[Driver]


class CostAnomalies:
    """Scores each service's and team's daily cost over the imported rows."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime], currency: str
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._currency = currency

    async def list(
        self, team: str, service: str, days: int, sensitivity: str
    ) -> tuple[list[CostAnomaly], str]:
        """Anomalies of the last ``days`` days, newest first, and the sensitivity used."""
        days = days or DEFAULT_DAYS
        sensitivity = sensitivity or "medium"
        violations = []
        if not 1 <= days <= MAX_DAYS:
            violations.append(FieldViolation("days", f"must be between 1 and {MAX_DAYS}"))
        if sensitivity not in SENSITIVITIES:
            violations.append(FieldViolation("sensitivity", f"must be one of {', '.join(SENSITIVITIES)}"))
        for field, value in (("team", team), ("service", service)):
            if len(value) > DNS_LABEL_MAX:
                violations.append(FieldViolation(field, f"at most {DNS_LABEL_MAX} characters"))
        if violations:
            raise InvalidArgument("cannot list cost anomalies", violations)
        today = self._clock().astimezone(UTC).date()
        since = today - timedelta(days=days - 1)
        start = datetime.combine(since - timedelta(days=WINDOW), time(), tzinfo=UTC)
        end = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
        async with self._sessions() as session:
            rows = await store.billing_day_rows(
                session=session, start=start, end=end, currency=self._currency
            )
        if service:
            rows = [row for row in rows if row.service == service]
        if team:
            rows = [row for row in rows if row.team == team]
        scopes: dict[tuple[str, str], list[store.BillingDayRow]] = defaultdict(list)
        for row in rows:
            if row.service:
                scopes[("service", row.service)].append(row)
            if row.team and not service:
                scopes[("team", row.team)].append(row)
        threshold = SENSITIVITIES[sensitivity]
        found: list[CostAnomaly] = []
        for (scope, name), members in sorted(scopes.items()):
            daily: dict[date, Decimal] = defaultdict(Decimal)
            for row in members:
                daily[row.day] += row.cost
            for day_score in anomalous_days(daily, threshold, since):
                found.append(CostAnomaly(scope, name, day_score, _drivers(members, day_score.day)))
        found.sort(key=lambda anomaly: (-anomaly.found.day.toordinal(), anomaly.scope, anomaly.name))
        return found, sensitivity


def _drivers(rows: list[store.BillingDayRow], day: date) -> list[Driver]:
    on_day: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    before: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    first = day - timedelta(days=WINDOW)
    days_before = {row.day for row in rows if first <= row.day < day}
    for row in rows:
        if row.day == day:
            target = on_day
        elif first <= row.day < day:
            target = before
        else:
            continue
        for dimension, value in (
            ("ServiceName", row.service_name),
            ("SkuId", row.sku_id),
            ("RegionId", row.region_id),
            ("ChargeCategory", row.charge_category),
        ):
            if value:
                target[(dimension, value)] += row.cost
    return drivers(on_day, before, len(days_before))
