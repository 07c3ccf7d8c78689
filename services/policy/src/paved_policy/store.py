"""Queries of the policy service; the only module that touches the session. Never commits: the caller owns
the transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, not_, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_policy.filtering import And, Comparison, Node, Or
from paved_policy.models import DecisionRow, ExceptionRow, PolicyRevisionRow, PolicyRow

_OPERATORS = {
    "=": lambda column, value: column == value,
    "!=": lambda column, value: column != value,
    "<": lambda column, value: column < value,
    "<=": lambda column, value: column <= value,
    ">": lambda column, value: column > value,
    ">=": lambda column, value: column >= value,
}


def _condition(node: Node, columns: Mapping[str, Any]) -> ColumnElement[bool]:
    if isinstance(node, Comparison):
        return _OPERATORS[node.op](columns[node.field], node.value)
    if isinstance(node, And):
        return and_(*(_condition(item, columns) for item in node.items))
    if isinstance(node, Or):
        return or_(*(_condition(item, columns) for item in node.items))
    return not_(_condition(node.item, columns))


# Policies -------------------------------------------------------------------------------------------------

POLICY_COLUMNS: dict[str, Any] = {
    "enabled": PolicyRow.enabled,
    "builtin": PolicyRow.builtin,
    "severity": PolicyRow.severity,
    "enforcement_level": PolicyRow.enforcement_level,
    "revision": PolicyRow.revision,
    "name": PolicyRow.policy_id,
    "create_time": PolicyRow.create_time,
    "update_time": PolicyRow.update_time,
}


async def get_policy(*, session: AsyncSession, policy_id: str, for_update: bool = False) -> PolicyRow | None:
    """The policy, or None."""
    statement = select(PolicyRow).where(col(PolicyRow.policy_id) == policy_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def get_policy_by_request_id(*, session: AsyncSession, request_id: str) -> PolicyRow | None:
    """The policy a CreatePolicy with ``request_id`` created, or None."""
    statement = select(PolicyRow).where(col(PolicyRow.request_id) == request_id)
    return (await session.exec(statement)).first()


async def add_policy_revision(*, session: AsyncSession, row: PolicyRow, snapshot: dict[str, Any]) -> None:
    """Stage ``row`` (new or changed) together with the snapshot of its current revision."""
    session.add(row)
    session.add(
        PolicyRevisionRow(
            policy_id=row.policy_id, revision=row.revision, snapshot=snapshot, create_time=row.update_time
        )
    )
    await session.flush()


async def list_policies(
    *, session: AsyncSession, where: Node | None, after: str | None, limit: int
) -> Sequence[PolicyRow]:
    """Policies by id, after ``after``, matching the filter."""
    statement = select(PolicyRow).order_by(col(PolicyRow.policy_id)).limit(limit)
    if where is not None:
        statement = statement.where(_condition(where, POLICY_COLUMNS))
    if after is not None:
        statement = statement.where(col(PolicyRow.policy_id) > after)
    return list((await session.exec(statement)).all())


async def enabled_policies(*, session: AsyncSession) -> Sequence[PolicyRow]:
    """Every enabled policy, by id."""
    statement = select(PolicyRow).where(col(PolicyRow.enabled).is_(True)).order_by(col(PolicyRow.policy_id))
    return list((await session.exec(statement)).all())


async def delete_policy(*, session: AsyncSession, policy_id: str) -> None:
    """Delete the policy and its exceptions (its revisions stay, for the decisions that cite them)."""
    await session.exec(delete(ExceptionRow).where(col(ExceptionRow.policy_id) == policy_id))
    await session.exec(delete(PolicyRow).where(col(PolicyRow.policy_id) == policy_id))


async def policy_revision(
    *, session: AsyncSession, policy_id: str, revision: int
) -> PolicyRevisionRow | None:
    """One kept revision of a policy, or None."""
    return await session.get(PolicyRevisionRow, (policy_id, revision))


# Exceptions -----------------------------------------------------------------------------------------------


async def add_exception(*, session: AsyncSession, row: ExceptionRow) -> None:
    """Stage a new exception."""
    session.add(row)
    await session.flush()


async def get_exception_by_request_id(*, session: AsyncSession, request_id: str) -> ExceptionRow | None:
    """The exception a CreateException with ``request_id`` created, or None."""
    statement = select(ExceptionRow).where(col(ExceptionRow.request_id) == request_id)
    return (await session.exec(statement)).first()


async def get_exception(*, session: AsyncSession, policy_id: str, exception_id: str) -> ExceptionRow | None:
    """The exception, or None."""
    row = await session.get(ExceptionRow, exception_id)
    return row if row is not None and row.policy_id == policy_id else None


async def list_exceptions(
    *,
    session: AsyncSession,
    policy_id: str | None,
    now: datetime,
    show_expired: bool,
    after: str | None,
    limit: int,
) -> Sequence[ExceptionRow]:
    """Exceptions in creation order, of one policy or all, active ones only unless ``show_expired``."""
    statement = select(ExceptionRow).order_by(col(ExceptionRow.exception_id)).limit(limit)
    if policy_id is not None:
        statement = statement.where(col(ExceptionRow.policy_id) == policy_id)
    if not show_expired:
        statement = statement.where(col(ExceptionRow.expire_time) > now)
    if after is not None:
        statement = statement.where(col(ExceptionRow.exception_id) > after)
    return list((await session.exec(statement)).all())


async def active_exceptions(*, session: AsyncSession, now: datetime) -> Sequence[ExceptionRow]:
    """Every exception that has not expired at ``now``."""
    statement = select(ExceptionRow).where(col(ExceptionRow.expire_time) > now)
    return list((await session.exec(statement)).all())


async def delete_exception(*, session: AsyncSession, row: ExceptionRow) -> None:
    """Delete the exception."""
    await session.delete(row)


# Decisions ------------------------------------------------------------------------------------------------

DECISION_COLUMNS: dict[str, Any] = {
    "outcome": DecisionRow.outcome,
    "team": DecisionRow.team,
    "environment": DecisionRow.environment,
    "requester": DecisionRow.requester,
    "service": DecisionRow.service,
    "inputs_digest": DecisionRow.inputs_digest,
    "override_applied": DecisionRow.override_applied,
    "create_time": DecisionRow.create_time,
}


async def add_decision(*, session: AsyncSession, row: DecisionRow) -> None:
    """Stage a decision for the audit log."""
    session.add(row)
    await session.flush()


async def get_decision(*, session: AsyncSession, decision_id: str) -> DecisionRow | None:
    """The decision, or None."""
    return await session.get(DecisionRow, decision_id)


async def list_decisions(
    *, session: AsyncSession, where: Node | None, before: str | None, limit: int
) -> Sequence[DecisionRow]:
    """Decisions newest first, older than ``before``, matching the filter."""
    statement = select(DecisionRow).order_by(col(DecisionRow.decision_id).desc()).limit(limit)
    if where is not None:
        statement = statement.where(_condition(where, DECISION_COLUMNS))
    if before is not None:
        statement = statement.where(col(DecisionRow.decision_id) < before)
    return list((await session.exec(statement)).all())
