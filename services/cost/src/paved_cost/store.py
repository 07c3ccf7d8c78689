"""Queries of the cost service; the only module that touches the session. Nothing here commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from paved_kit.db import insert_on_conflict
from sqlalchemy import (
    Date,
    Numeric,
    String,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession as SAAsyncSession
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost.contract_commitments import Commitment
from paved_cost.focus import RECORD_FIELDS, BillingRecord
from paved_cost.models import (
    AppliedOptimization,
    BillingImport,
    BillingRow,
    ContractCommitment,
    DailyCost,
    EnvironmentEstimate,
    ServiceRegistration,
    TrackedResource,
    UtilizationSample,
)

# FOCUS column name → stored column, for SummarizeBilling's group_by.
GROUPABLE = {
    "ProviderName": "provider_name",
    "ChargeCategory": "charge_category",
    "ServiceName": "service_name",
    "ServiceCategory": "service_category",
    "RegionId": "region_id",
    "ResourceId": "resource_id",
    "SubAccountId": "sub_account_id",
    "PricingCategory": "pricing_category",
    "BillingCurrency": "billing_currency",
}
_BILLING_TABLE = BillingRow.__table__  # type: ignore[attr-defined]
_DAILY_TABLE = DailyCost.__table__  # type: ignore[attr-defined]
_COMMITMENT_TABLE = ContractCommitment.__table__  # type: ignore[attr-defined]


async def _execute(session: AsyncSession, statement: Any, params: Any = None) -> Any:
    """SQLAlchemy's ``execute``: sqlmodel deprecates it on its session, but core statements need it."""
    return await SAAsyncSession.execute(session, statement, params)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# ---- billing -------------------------------------------------------------------------------------


async def claim_billing_period(
    *, session: AsyncSession, source: str, billing_period: str, now: datetime
) -> int:
    """Lock the (source, period) import slot and drop what an earlier import stored; returns rows dropped.

    The upsert takes a row lock that a concurrent import of the same slot waits on until this
    transaction ends, so two imports can never both add their rows.
    """
    values = {"source": source, "billing_period": billing_period, "rows": 0, "imported_at": now}
    table = BillingImport.__table__  # type: ignore[attr-defined]
    statement = insert_on_conflict(_dialect(session), table).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["source", "billing_period"], set_={"imported_at": now}
    )
    await _execute(session, statement)
    where = and_(_BILLING_TABLE.c.source == source, _BILLING_TABLE.c.billing_period == billing_period)
    result = await _execute(session, delete(_BILLING_TABLE).where(where))
    await _execute(
        session,
        delete(_DAILY_TABLE).where(
            and_(_DAILY_TABLE.c.source == source, _DAILY_TABLE.c.billing_period == billing_period)
        ),
    )
    return int(result.rowcount or 0)


async def set_import_rows(*, session: AsyncSession, source: str, billing_period: str, rows: int) -> None:
    table = BillingImport.__table__  # type: ignore[attr-defined]
    await _execute(
        session,
        update(table)
        .where(and_(table.c.source == source, table.c.billing_period == billing_period))
        .values(rows=rows),
    )


async def insert_billing_records(*, session: AsyncSession, records: Sequence[BillingRecord]) -> None:
    """Append rows: PostgreSQL COPY on the session's own connection (same transaction), else a bulk insert."""
    if not records:
        return
    if _dialect(session) == "postgresql":
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(BillingRow.__tablename__, records=records, columns=RECORD_FIELDS)
        return
    await _execute(session, insert(_BILLING_TABLE), [record._asdict() for record in records])


async def insert_daily_costs(*, session: AsyncSession, rows: Iterable[dict[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        await _execute(session, insert(_DAILY_TABLE), batch)


async def refresh_report_statistics(*, session: AsyncSession) -> None:
    """Refresh the planner's statistics of the daily totals after an import.

    A big import changes them at once; with stale ones PostgreSQL sorts (slowly, by collation) where a
    hash aggregate takes a few milliseconds, and the team report would wait for autovacuum to catch up.
    """
    if _dialect(session) == "postgresql":
        await _execute(session, text("ANALYZE cost_daily"))


async def billing_totals(
    *, session: AsyncSession, group_by: str, start: datetime | None, end: datetime | None
) -> list[tuple[str, Decimal, Decimal, int]]:
    """(group value, sum BilledCost, sum EffectiveCost, rows) per value of a FOCUS column; exact sums."""
    column = _BILLING_TABLE.c[GROUPABLE[group_by]]
    conditions = []
    if start is not None and end is not None:
        conditions = [
            _BILLING_TABLE.c.charge_period_start >= start,
            _BILLING_TABLE.c.charge_period_start < end,
        ]
    if _dialect(session) == "postgresql":
        statement = (
            select(
                column,
                func.sum(_BILLING_TABLE.c.billed_cost),
                func.sum(_BILLING_TABLE.c.effective_cost),
                func.count(),
            )
            .where(*conditions)
            .group_by(column)
            .order_by(column)
        )
        result = await _execute(session, statement)
        return [
            (key or "", Decimal(billed), Decimal(effective), rows) for key, billed, effective, rows in result
        ]
    # SQLite keeps amounts as text (its NUMERIC is a float), so they are summed exactly here.
    sums: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    result = await _execute(
        session,
        select(column, _BILLING_TABLE.c.billed_cost, _BILLING_TABLE.c.effective_cost).where(*conditions),
    )
    for key, billed, effective in result:
        entry = sums[key or ""]
        entry[0] += Decimal(billed)
        entry[1] += Decimal(effective)
        entry[2] += 1
    return [(key, *sums[key]) for key in sorted(sums)]


@dataclass(frozen=True)
class DailyAmount:
    """EffectiveCost of one day for one (service, team) as tagged; None where no tag named it."""

    day: date
    service: str | None
    team: str | None
    cost: Decimal


def _days(start: date, end: date, currency: str) -> list[Any]:
    """The daily rows of [start, end) in ``currency``."""
    table = _DAILY_TABLE
    return [table.c.day >= start, table.c.day < end, table.c.currency == currency]


async def daily_costs(
    *, session: AsyncSession, start: date, end: date, currency: str, service: str | None = None
) -> list[DailyAmount]:
    """Daily EffectiveCost in [start, end) grouped by day, service and team."""
    table = _DAILY_TABLE
    conditions = _days(start, end, currency)
    if service is not None:
        conditions.append(table.c.service == service)
    keys = (table.c.day, table.c.service, table.c.team)
    if _dialect(session) == "postgresql":
        result = await _execute(
            session, select(*keys, func.sum(table.c.effective_cost)).where(*conditions).group_by(*keys)
        )
        return [DailyAmount(day, svc, team, Decimal(cost)) for day, svc, team, cost in result]
    sums: dict[tuple[date, str | None, str | None], Decimal] = defaultdict(Decimal)
    result = await _execute(session, select(*keys, table.c.effective_cost).where(*conditions))
    for day, svc, team, cost in result:
        sums[(day, svc, team)] += Decimal(cost)
    return [DailyAmount(day, svc, team, cost) for (day, svc, team), cost in sums.items()]


async def has_costs(*, session: AsyncSession, service: str) -> bool:
    """Whether any daily cost was ever recorded for ``service`` (in any month and currency)."""
    table = _DAILY_TABLE
    result = await _execute(session, select(table.c.day).where(table.c.service == service).limit(1))
    return result.first() is not None


@dataclass(frozen=True)
class TeamReportRows:
    """What the team report reads: daily amounts, how many services each team's tags name in the month, and
    the (team, service) pairs tagged in the month among the services that also have untagged costs there
    (whose registration may name the same team: counted once)."""

    amounts: list[DailyAmount]
    tagged_services: dict[str, int]
    tagged_pairs: set[tuple[str, str]]


async def team_report_rows(
    *, session: AsyncSession, start: date, end: date, month: tuple[date, date], currency: str
) -> TeamReportRows:
    """What the team report reads, in one round trip on PostgreSQL.

    Daily EffectiveCost in [start, end) per tagged team and, where no team tag exists, per service (so a
    registration can still name the team): far fewer groups than per (service, team). The services are
    counted per team by the database, not listed: at 50,000 services the list was most of the rows read.
    """
    table = _DAILY_TABLE
    in_month = _days(*month, currency)
    tagged_in_month = [*in_month, table.c.team.is_not(None), table.c.service.is_not(None)]
    untagged_services = select(table.c.service).where(
        *in_month, table.c.team.is_(None), table.c.service.is_not(None)
    )
    # Distinct pairs first, then a count per team: PostgreSQL hashes the pairs once, where
    # count(DISTINCT service) sorts each team's rows.
    tagged_pairs = select(table.c.team, table.c.service).where(*tagged_in_month).distinct().subquery()
    counts_query = select(tagged_pairs.c.team, func.count().label("services")).group_by(tagged_pairs.c.team)
    pairs_query = (
        select(table.c.team, table.c.service)
        .where(*tagged_in_month, table.c.service.in_(untagged_services))
        .distinct()
    )
    if _dialect(session) != "postgresql":
        amounts = await daily_costs(session=session, start=start, end=end, currency=currency)
        counts = {team: count for team, count in await _execute(session, counts_query)}
        pairs = {(team, service) for team, service in await _execute(session, pairs_query)}
        return TeamReportRows(amounts, counts, pairs)
    window = _days(start, end, currency)
    cost = func.sum(table.c.effective_cost)
    no_text = literal(None, String)
    no_day = literal(None, Date)
    tagged = (
        select(table.c.day, no_text.label("service"), table.c.team, cost)
        .where(*window, table.c.team.is_not(None))
        .group_by(table.c.day, table.c.team)
    )
    untagged = (
        select(table.c.day, table.c.service, no_text.label("team"), cost)
        .where(*window, table.c.team.is_(None))
        .group_by(table.c.day, table.c.service)
    )
    # Rows without a day: a team's count (no service), or a tagged pair (no count).
    counted = counts_query.subquery()
    paired = pairs_query.subquery()
    counts_rows = select(no_day, no_text, counted.c.team, cast(counted.c.services, Numeric))
    pair_rows = select(no_day, paired.c.service, paired.c.team, literal(None, Numeric))
    result = TeamReportRows([], {}, set())
    rows = await _execute(session, union_all(tagged, untagged, counts_rows, pair_rows))
    for day, service, team, total in rows:
        if day is not None:
            result.amounts.append(DailyAmount(day, service, team, Decimal(total)))
        elif service is None:
            result.tagged_services[team] = int(total)
        else:
            result.tagged_pairs.add((team, service))
    return result


# ---- services and resources ----------------------------------------------------------------------


async def upsert_registration(*, session: AsyncSession, registration: ServiceRegistration) -> None:
    existing = await session.get(ServiceRegistration, registration.service)
    if existing is None:
        session.add(registration)
        return
    existing.team = registration.team
    existing.environment = registration.environment
    existing.estimated_monthly_cost = registration.estimated_monthly_cost
    existing.currency = registration.currency
    existing.template = registration.template or existing.template


async def upsert_environment_estimate(*, session: AsyncSession, estimate: EnvironmentEstimate) -> None:
    existing = await session.get(EnvironmentEstimate, (estimate.service, estimate.environment))
    if existing is None:
        session.add(estimate)
        return
    existing.team = estimate.team
    existing.estimated_monthly_cost = estimate.estimated_monthly_cost
    existing.currency = estimate.currency
    existing.registered_at = estimate.registered_at


async def environment_estimates(*, session: AsyncSession, service: str) -> list[EnvironmentEstimate]:
    """The service's estimate in each environment it is registered in, by environment name."""
    result = await _execute(
        session,
        select(EnvironmentEstimate)
        .where(EnvironmentEstimate.service == service)  # type: ignore[arg-type]
        .order_by(EnvironmentEstimate.environment),
    )
    return list(result.scalars())


async def delete_environment(*, session: AsyncSession, service: str, environment: str) -> int:
    """Forget one environment of a service: its estimate and the resources registered from it; returns
    how many resources were tracked."""
    table = TrackedResource.__table__  # type: ignore[attr-defined]
    removed = await _execute(
        session, delete(table).where(table.c.service == service, table.c.environment == environment)
    )
    estimate = await session.get(EnvironmentEstimate, (service, environment))
    if estimate is not None:
        await session.delete(estimate)
    return int(removed.rowcount or 0)


async def get_registration(*, session: AsyncSession, service: str) -> ServiceRegistration | None:
    return await session.get(ServiceRegistration, service)


async def list_registrations(*, session: AsyncSession) -> list[ServiceRegistration]:
    result = await _execute(session, select(ServiceRegistration))
    return list(result.scalars())


async def delete_registration(*, session: AsyncSession, service: str) -> int:
    """Forget a service and its resources; returns how many resources were tracked."""
    table = TrackedResource.__table__  # type: ignore[attr-defined]
    removed = await _execute(session, delete(table).where(table.c.service == service))
    estimates = EnvironmentEstimate.__table__  # type: ignore[attr-defined]
    await _execute(session, delete(estimates).where(estimates.c.service == service))
    registration = await session.get(ServiceRegistration, service)
    if registration is not None:
        await session.delete(registration)
    return int(removed.rowcount or 0)


async def list_resources(*, session: AsyncSession, service: str | None = None) -> list[TrackedResource]:
    statement = select(TrackedResource).order_by(TrackedResource.service, TrackedResource.resource)
    if service is not None:
        statement = statement.where(TrackedResource.service == service)  # type: ignore[arg-type]
    result = await _execute(session, statement)
    return list(result.scalars())


async def get_resource(*, session: AsyncSession, service: str, resource: str) -> TrackedResource | None:
    result = await _execute(
        session,
        select(TrackedResource).where(
            TrackedResource.service == service,  # type: ignore[arg-type]
            TrackedResource.resource == resource,  # type: ignore[arg-type]
        ),
    )
    return result.scalars().first()


async def replace_resources(
    *, session: AsyncSession, service: str, resources: Sequence[TrackedResource]
) -> None:
    """Make ``resources`` the service's tracked set, keeping registration times of those already known."""
    existing = {r.resource: r for r in await list_resources(session=session, service=service)}
    wanted = {r.resource for r in resources}
    for name, gone in existing.items():
        if name not in wanted:
            await session.delete(gone)
    for resource in resources:
        old = existing.get(resource.resource)
        if old is None:
            session.add(resource)
            continue
        if old.properties != resource.properties:
            old.changed_at = resource.changed_at
        old.type, old.team, old.environment = resource.type, resource.team, resource.environment
        old.properties = resource.properties


# ---- utilization ---------------------------------------------------------------------------------


async def insert_utilization(*, session: AsyncSession, samples: Sequence[dict[str, Any]]) -> None:
    if samples:
        await _execute(session, insert(UtilizationSample.__table__), list(samples))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class UtilizationStats:
    """Average of one metric of one resource since it last changed."""

    service: str
    resource: str
    metric: str
    average: float
    samples: int


async def utilization_stats(*, session: AsyncSession, since: datetime) -> list[UtilizationStats]:
    """Averages per resource and metric over samples newer than ``since`` and the resource's last change."""
    u = UtilizationSample.__table__  # type: ignore[attr-defined]
    r = TrackedResource.__table__  # type: ignore[attr-defined]
    statement = (
        select(u.c.service, u.c.resource, u.c.metric, func.avg(u.c.value), func.count())
        .select_from(u.join(r, and_(u.c.service == r.c.service, u.c.resource == r.c.resource)))
        .where(u.c.time >= since, u.c.time >= r.c.changed_at)
        .group_by(u.c.service, u.c.resource, u.c.metric)
    )
    result = await _execute(session, statement)
    return [UtilizationStats(s, res, m, float(avg), int(n)) for s, res, m, avg, n in result]


async def average_utilization(*, session: AsyncSession, since: datetime) -> float | None:
    u = UtilizationSample.__table__  # type: ignore[attr-defined]
    value = (await _execute(session, select(func.avg(u.c.value)).where(u.c.time >= since))).scalar()
    return None if value is None else float(value)


# ---- optimizations -------------------------------------------------------------------------------


async def add_optimization(*, session: AsyncSession, optimization: AppliedOptimization) -> None:
    session.add(optimization)


async def optimization_of_operation(*, session: AsyncSession, operation: str) -> AppliedOptimization | None:
    """The optimization recorded for a provisioning operation, if any."""
    table = AppliedOptimization.__table__  # type: ignore[attr-defined]
    result = await _execute(session, select(table.c.id).where(table.c.operation == operation).limit(1))
    row_id = result.scalars().first()
    return None if row_id is None else await session.get(AppliedOptimization, row_id)
    return result.scalars().first()


async def applied_optimizations(
    *, session: AsyncSession, start: datetime, end: datetime, currency: str
) -> list[AppliedOptimization]:
    """Optimizations applied in [start, end] in ``currency``, oldest first."""
    table = AppliedOptimization.__table__  # type: ignore[attr-defined]
    result = await _execute(
        session,
        select(table.c.id).where(
            table.c.applied_at >= start, table.c.applied_at <= end, table.c.currency == currency
        ),
    )
    found = [await session.get(AppliedOptimization, row_id) for row_id in result.scalars()]
    return sorted((row for row in found if row is not None), key=lambda row: row.applied_at)


@dataclass(frozen=True)
class BillingDayRow:
    """One billing row's day, owner and the FOCUS dimensions anomalies are explained by."""

    day: date
    service: str | None
    team: str | None
    service_name: str
    sku_id: str
    region_id: str
    charge_category: str
    cost: Decimal


async def billing_day_rows(
    *, session: AsyncSession, start: datetime, end: datetime, currency: str
) -> list[BillingDayRow]:
    """Billing rows charged in ``[start, end)`` in ``currency`` with their day and dimensions."""
    table = _BILLING_TABLE
    result = await _execute(
        session,
        select(
            table.c.charge_period_start,
            table.c.service,
            table.c.team,
            table.c.service_name,
            table.c.sku_id,
            table.c.region_id,
            table.c.charge_category,
            table.c.effective_cost,
        ).where(
            table.c.charge_period_start >= start,
            table.c.charge_period_start < end,
            table.c.billing_currency == currency,
        ),
    )
    return [
        BillingDayRow(
            (charged if charged.tzinfo else charged.replace(tzinfo=UTC)).astimezone(UTC).date(),
            service,
            team,
            service_name or "",
            sku or "",
            region or "",
            category or "",
            Decimal(cost),
        )
        for charged, service, team, service_name, sku, region, category, cost in result
    ]


async def replace_contract_commitments(
    *, session: AsyncSession, source: str, commitments: Sequence[Commitment], now: datetime
) -> int:
    """Replace ``source``'s contract commitments; returns how many earlier ones were replaced."""
    table = _COMMITMENT_TABLE
    removed = await _execute(session, delete(table).where(table.c.source == source))
    rows = [
        {
            "source": source,
            "contract_commitment_id": c.contract_commitment_id,
            "contract_id": c.contract_id,
            "category": c.category,
            "commitment_type": c.commitment_type,
            "description": c.description,
            "cost": c.cost,
            "quantity": c.quantity,
            "unit": c.unit,
            "billing_currency": c.billing_currency,
            "period_start": c.period_start,
            "period_end": c.period_end,
            "contract_period_start": c.contract_period_start,
            "contract_period_end": c.contract_period_end,
            "imported_at": now,
        }
        for c in commitments
    ]
    if rows:
        await _execute(session, insert(table), rows)
    return int(removed.rowcount or 0)


async def contract_commitments(*, session: AsyncSession) -> list[Commitment]:
    """Every stored contract commitment (all sources)."""
    result = await _execute(session, select(_COMMITMENT_TABLE))
    return [
        Commitment(
            contract_commitment_id=row.contract_commitment_id,
            contract_id=row.contract_id,
            category=row.category,
            commitment_type=row.commitment_type,
            description=row.description,
            cost=row.cost,
            quantity=row.quantity,
            unit=row.unit,
            billing_currency=row.billing_currency,
            period_start=_aware(row.period_start),
            period_end=_aware(row.period_end),
            contract_period_start=_aware(row.contract_period_start),
            contract_period_end=_aware(row.contract_period_end),
        )
        for row in result
    ]


async def contract_applied_rows(
    *, session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[str | None, str]]:
    """(service, ContractApplied) of the charges starting in [start, end) that draw on a commitment."""
    table = _BILLING_TABLE
    result = await _execute(
        session,
        select(table.c.service, table.c.contract_applied).where(
            table.c.contract_applied.is_not(None),
            table.c.charge_period_start >= start,
            table.c.charge_period_start < end,
        ),
    )
    return [(service, applied) for service, applied in result]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
