"""Queries of the alerting service; the only module that touches the session. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from paved_kit.db import insert_on_conflict
from sqlalchemy import ColumnElement, Table, delete, func, inspect, or_, update
from sqlalchemy import insert as insert_into
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_alerting.filters import Clauses
from paved_alerting.models import AlertRow, AlertRuleRow, OutboxRow, ReceiverRow

# Core tables for bulk statements, which skip the ORM's per-object work.
_ALERTS: Table = inspect(AlertRow).local_table  # type: ignore[assignment]
_OUTBOX: Table = inspect(OutboxRow).local_table  # type: ignore[assignment]


async def get_rule(*, session: AsyncSession, rule_id: str) -> AlertRuleRow | None:
    """The rule with that id."""
    return await session.get(AlertRuleRow, rule_id)


async def get_rule_by_request_id(*, session: AsyncSession, request_id: str) -> AlertRuleRow | None:
    """The rule a create with this request id made."""
    result = await session.exec(select(AlertRuleRow).where(col(AlertRuleRow.request_id) == request_id))
    return result.first()


async def add_rule(*, session: AsyncSession, row: AlertRuleRow) -> None:
    """Insert a rule."""
    session.add(row)
    await session.flush()


async def save_rule(*, session: AsyncSession, row: AlertRuleRow) -> None:
    """Write a changed rule."""
    session.add(row)
    await session.flush()


async def rules_by_id(*, session: AsyncSession, rule_ids: Sequence[str]) -> dict[str, AlertRuleRow]:
    """The rules among ``rule_ids`` that exist."""
    result = await session.exec(select(AlertRuleRow).where(col(AlertRuleRow.rule_id).in_(rule_ids)))
    return {row.rule_id: row for row in result.all()}


def _matching(model: type[Any], clauses: Clauses) -> list[ColumnElement[bool]]:
    conditions = []
    for clause in clauses:
        terms = []
        for name, value in clause:
            column = getattr(model, name)
            terms.append(
                column == (value == "true") if name in ("enabled", "default_rule") else column == value
            )
        conditions.append(or_(*terms))
    return conditions


async def list_rules(
    *, session: AsyncSession, filters: Clauses, after: str | None, limit: int
) -> list[AlertRuleRow]:
    """Rules matching ``filters`` (AND-ed clauses of OR-ed equalities), ordered by id, after ``after``."""
    query = select(AlertRuleRow).where(*_matching(AlertRuleRow, filters))
    if after is not None:
        query = query.where(col(AlertRuleRow.rule_id) > after)
    result = await session.exec(query.order_by(col(AlertRuleRow.rule_id)).limit(limit))
    return list(result.all())


async def all_rules(*, session: AsyncSession) -> list[AlertRuleRow]:
    """Every rule."""
    result = await session.exec(select(AlertRuleRow))
    return list(result.all())


async def delete_rules(*, session: AsyncSession, rule_ids: Sequence[str]) -> int:
    """Delete rules and their alert states; returns how many rules went."""
    if not rule_ids:
        return 0
    await session.exec(delete(AlertRow).where(col(AlertRow.rule_id).in_(rule_ids)))
    result = await session.exec(delete(AlertRuleRow).where(col(AlertRuleRow.rule_id).in_(rule_ids)))
    return int(result.rowcount or 0)


async def rule_ids_of_service(*, session: AsyncSession, service: str, environment: str = "") -> list[str]:
    """Ids of the rules of a service (of one of its environments when ``environment`` is given)."""
    statement = select(AlertRuleRow.rule_id).where(col(AlertRuleRow.service) == service)
    if environment:
        statement = statement.where(col(AlertRuleRow.environment) == environment)
    result = await session.exec(statement)
    return list(result.all())


async def rule_states_of_service(*, session: AsyncSession, service: str) -> list[tuple[str, bool]]:
    """(rule id, enabled) of each rule of a service."""
    result = await session.exec(
        select(AlertRuleRow.rule_id, AlertRuleRow.enabled).where(col(AlertRuleRow.service) == service)
    )
    return [(rule_id, bool(enabled)) for rule_id, enabled in result.all()]


async def upsert_alerts(*, session: AsyncSession, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert or overwrite alert states, many at once (an evaluation may change thousands)."""
    values = [dict(row) for row in rows]
    if not values:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = insert_on_conflict(dialect, _ALERTS)
    columns = [name for name in values[0] if name != "rule_id"]
    statement = statement.on_conflict_do_update(
        index_elements=["rule_id"], set_={name: statement.excluded[name] for name in columns}
    )
    # One statement executed with many parameter sets: compiled once, sent by the driver's executemany.
    await session.exec(statement, params=values)


async def all_alerts(*, session: AsyncSession) -> list[AlertRow]:
    """Every persisted alert state."""
    result = await session.exec(select(AlertRow))
    return list(result.all())


async def list_alerts(
    *, session: AsyncSession, filters: Clauses, after: str | None, limit: int
) -> list[AlertRow]:
    """Alerts matching ``filters`` (on service, environment, team, state, severity), ordered by rule id."""
    query = select(AlertRow).where(*_matching(AlertRow, filters))
    if after is not None:
        query = query.where(col(AlertRow.rule_id) > after)
    result = await session.exec(query.order_by(col(AlertRow.rule_id)).limit(limit))
    return list(result.all())


async def get_receiver(*, session: AsyncSession, receiver_id: str) -> ReceiverRow | None:
    """The receiver with that id."""
    return await session.get(ReceiverRow, receiver_id)


async def add_receiver(*, session: AsyncSession, row: ReceiverRow) -> None:
    """Insert a receiver."""
    session.add(row)
    await session.flush()


async def list_receivers(*, session: AsyncSession, after: str | None, limit: int | None) -> list[ReceiverRow]:
    """Receivers ordered by id."""
    query = select(ReceiverRow)
    if after is not None:
        query = query.where(col(ReceiverRow.receiver_id) > after)
    query = query.order_by(col(ReceiverRow.receiver_id))
    if limit is not None:
        query = query.limit(limit)
    result = await session.exec(query)
    return list(result.all())


async def delete_receiver(*, session: AsyncSession, receiver_id: str) -> bool:
    """Delete a receiver; whether it existed."""
    result = await session.exec(delete(ReceiverRow).where(col(ReceiverRow.receiver_id) == receiver_id))
    return bool(result.rowcount)


async def enqueue(*, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add notifications (column values of ``notification_outbox``) to the outbox."""
    if rows:
        await session.exec(insert_into(_OUTBOX), params=list(rows))


async def claim_due_notifications(
    *, session: AsyncSession, now: float, lease_until: float, limit: int
) -> list[OutboxRow]:
    """Claim notifications due for an attempt, oldest first, until ``lease_until``: another process on the
    same database skips them meanwhile, and they come due again if this one dies while sending.

    One waits while an older one with the same ordering key is undelivered, so a receiver never hears
    "resolved" before "firing"."""
    earlier = aliased(OutboxRow)
    blocked = (
        select(earlier.id)
        .where(
            earlier.ordering_key == OutboxRow.ordering_key,
            col(earlier.id) < col(OutboxRow.id),
            col(earlier.dead).is_(False),
        )
        .exists()
    )
    result = await session.exec(
        select(OutboxRow)
        .where(col(OutboxRow.dead).is_(False), col(OutboxRow.next_attempt_at) <= now, ~blocked)
        .order_by(col(OutboxRow.next_attempt_at), col(OutboxRow.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    for row in result.all():
        # The condition makes the claim safe where row locks are not available (SQLite).
        update_result = await session.exec(
            update(OutboxRow)
            .where(col(OutboxRow.id) == row.id, col(OutboxRow.next_attempt_at) == row.next_attempt_at)
            .values(next_attempt_at=lease_until)
        )
        if update_result.rowcount == 1:
            claimed.append(row)
    return claimed


async def release_claims(*, session: AsyncSession, ids: list[int], lease_until: float, due: float) -> None:
    """Give claimed notifications back, due at ``due``, where the claim (until ``lease_until``) is still
    the one that took them."""
    await session.exec(
        update(OutboxRow)
        .where(col(OutboxRow.id).in_(ids), col(OutboxRow.next_attempt_at) == lease_until)
        .values(next_attempt_at=due)
    )


async def next_due_time(*, session: AsyncSession) -> float | None:
    """When the earliest undelivered notification is due."""
    result = await session.exec(
        select(func.min(OutboxRow.next_attempt_at)).where(col(OutboxRow.dead).is_(False))
    )
    earliest = result.one_or_none()
    return float(earliest) if earliest is not None else None


async def delivered(*, session: AsyncSession, notification_id: int) -> None:
    """Remove a delivered notification."""
    await session.exec(delete(OutboxRow).where(col(OutboxRow.id) == notification_id))


async def failed(
    *,
    session: AsyncSession,
    notification_id: int,
    attempts: int,
    next_attempt_at: float,
    error: str,
    dead: bool,
) -> None:
    """Record a failed attempt and when to try again (or that we gave up)."""
    await session.exec(
        update(OutboxRow)
        .where(col(OutboxRow.id) == notification_id)
        .values(attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:500], dead=dead)
    )


async def outbox_rows(*, session: AsyncSession) -> list[OutboxRow]:
    """Every notification in the outbox (delivered ones are gone), oldest first."""
    result = await session.exec(select(OutboxRow).order_by(col(OutboxRow.id)))
    return list(result.all())
