"""Queries of the provisioning service; the only module that touches the session. Never commits: the caller
owns the transaction. Writes are single statements or come first in their transaction, so SQLite takes its
write lock at once instead of failing to upgrade a read."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from paved_kit.db import insert_on_conflict
from sqlalchemy import Integer, Table, bindparam, case, func, or_, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import notifications
from paved_provisioning.models import Deployment, Operation, OperationStep, ProvisionedService, TeamQuota
from paved_provisioning.quotas import Usage

LIVE_STATES = ("provisioning", "active", "deprovisioning")


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """``value`` as aware UTC (SQLite returns naive datetimes)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


async def _core(session: AsyncSession, statement: Any) -> Any:
    """Run a bulk UPDATE through Core on the session's connection: no ORM bookkeeping for rows this
    session never loaded (the hot path of every step boundary)."""
    connection = await session.connection()
    return await connection.execute(statement)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# Quotas -------------------------------------------------------------------------------------------------


async def lock_team(*, session: AsyncSession, team: str) -> TeamQuota:
    """Create the team's quota row if needed and lock it until the transaction ends.

    PostgreSQL: ``SELECT … FOR UPDATE`` on the row. SQLite: the insert/update takes the database write
    lock first thing, which serializes every other writer until commit.
    """
    insert = insert_on_conflict(session.get_bind().dialect.name, TeamQuota)
    await session.exec(insert.values(team=team, version=0).on_conflict_do_nothing())
    if _is_postgres(session):
        row = (
            await session.exec(select(TeamQuota).where(col(TeamQuota.team) == team).with_for_update())
        ).one()
    else:
        await _core(
            session,
            update(TeamQuota).where(col(TeamQuota.team) == team).values(version=col(TeamQuota.version) + 1),
        )
        row = (await session.exec(select(TeamQuota).where(col(TeamQuota.team) == team))).one()
    return row


async def get_team_quota(*, session: AsyncSession, team: str) -> TeamQuota | None:
    return await session.get(TeamQuota, team)


async def set_team_quota(
    *, session: AsyncSession, team: str, max_services: int, max_instances: int, max_monthly_cost: float
) -> None:
    row = await lock_team(session=session, team=team)
    row.max_services, row.max_instances, row.max_monthly_cost = max_services, max_instances, max_monthly_cost
    row.overridden = True
    session.add(row)


async def team_usage(
    *,
    session: AsyncSession,
    team: str,
    exclude_service: str | None = None,
    exclude_environment: str | None = None,
) -> Usage:
    """Live usage of a team: services counted once however many environments they run in; instances and
    cost summed over every environment. ``exclude_*`` leaves out one service (in one environment)."""
    stmt = select(
        func.count(func.distinct(col(ProvisionedService.name))),
        func.coalesce(func.sum(col(ProvisionedService.instances)), 0),
        func.coalesce(func.sum(col(ProvisionedService.monthly_cost)), 0.0),
    ).where(col(ProvisionedService.team) == team, col(ProvisionedService.state).in_(LIVE_STATES))
    if exclude_service and exclude_environment:
        stmt = stmt.where(
            or_(
                col(ProvisionedService.name) != exclude_service,
                col(ProvisionedService.environment) != exclude_environment,
            )
        )
    elif exclude_service:
        stmt = stmt.where(col(ProvisionedService.name) != exclude_service)
    count, instances, cost = (await session.exec(stmt)).one()
    return Usage(int(count), int(instances), float(cost))


# Provisioned services ------------------------------------------------------------------------------------


async def get_service(
    *, session: AsyncSession, name: str, environment: str = ""
) -> ProvisionedService | None:
    """The service in ``environment``; without one, the environment it was provisioned in first among
    those not deleted (a deleted one only when every one is)."""
    if environment:
        return await session.get(ProvisionedService, (name, environment))
    stmt = (
        select(ProvisionedService)
        .where(col(ProvisionedService.name) == name)
        .order_by(
            case((col(ProvisionedService.state) == "deleted", 1), else_=0),
            col(ProvisionedService.create_time),
            col(ProvisionedService.environment),
        )
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def environments_of(*, session: AsyncSession, name: str) -> list[ProvisionedService]:
    """Every environment record of a service, first provisioned first."""
    stmt = (
        select(ProvisionedService)
        .where(col(ProvisionedService.name) == name)
        .order_by(col(ProvisionedService.create_time), col(ProvisionedService.environment))
    )
    return list((await session.exec(stmt)).all())


async def services_in(
    *, session: AsyncSession, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ProvisionedService]:
    """The records of the ``(service, environment)`` pairs that exist, by pair (one query per 1000 names)."""
    wanted = set(pairs)
    names = sorted({name for name, _ in wanted})
    found: dict[tuple[str, str], ProvisionedService] = {}
    for start in range(0, len(names), 1000):
        stmt = select(ProvisionedService).where(col(ProvisionedService.name).in_(names[start : start + 1000]))
        for row in (await session.exec(stmt)).all():
            if (row.name, row.environment) in wanted:
                found[(row.name, row.environment)] = row
    return found


async def save_service(*, session: AsyncSession, service: ProvisionedService) -> None:
    service.update_time = utcnow()
    session.add(service)


async def set_service_fields(*, session: AsyncSession, name: str, environment: str, **values: Any) -> None:
    await update_row(session=session, row=service_update(name, environment, **values))


# Operations ----------------------------------------------------------------------------------------------


async def get_operation(*, session: AsyncSession, operation_id: str) -> Operation | None:
    return await session.get(Operation, operation_id)


async def operations_by_request_keys(
    *, session: AsyncSession, request_keys: Sequence[str]
) -> Sequence[Operation]:
    return (await session.exec(select(Operation).where(col(Operation.request_key).in_(request_keys)))).all()


async def add_operation(*, session: AsyncSession, operation: Operation, steps: Sequence[str]) -> None:
    now = utcnow()
    operation.create_time = operation.update_time = now
    session.add(operation)
    await session.flush()
    for position, name in enumerate(steps):
        session.add(OperationStep(operation_id=operation.id, position=position, name=name))
    await announce_work(session=session)


async def announce_work(*, session: AsyncSession) -> None:
    """Tell the listening workers there is work, when the transaction commits (PostgreSQL; elsewhere the
    workers poll)."""
    if _is_postgres(session):
        await _core(session, notifications.NOTIFY)


async def list_operations(
    *,
    session: AsyncSession,
    service: str | None,
    done: bool | None,
    offset: int,
    limit: int,
    environment: str | None = None,
) -> list[Operation]:
    stmt = select(Operation)
    if service is not None:
        stmt = stmt.where(col(Operation.service) == service)
    if environment is not None:
        stmt = stmt.where(col(Operation.environment) == environment)
    if done is not None:
        stmt = stmt.where(col(Operation.done) == done)
    stmt = stmt.order_by(col(Operation.create_time).desc(), col(Operation.id)).offset(offset).limit(limit)
    return list((await session.exec(stmt)).all())


async def steps_of(*, session: AsyncSession, operation_id: str) -> list[OperationStep]:
    """The operation's steps in order (none when there is no such operation)."""
    return (await steps_of_many(session=session, operation_ids=[operation_id]))[operation_id]


# Built once, as the step-boundary statements below: every load and claim runs them.
_STEPS_OF = (
    select(OperationStep)
    .where(col(OperationStep.operation_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(OperationStep.operation_id), col(OperationStep.position))
)
_OPERATIONS_OF = select(Operation).where(col(Operation.id).in_(bindparam("ids", expanding=True)))


async def steps_of_many(
    *, session: AsyncSession, operation_ids: Sequence[str]
) -> dict[str, list[OperationStep]]:
    if not operation_ids:
        return {}
    out: dict[str, list[OperationStep]] = {op: [] for op in operation_ids}
    for step in (await session.exec(_STEPS_OF, params={"ids": list(operation_ids)})).all():
        out[step.operation_id].append(step)
    return out


# The step-boundary statements run on the tables (Core), not the mapped classes: the ORM's resolution of
# each UPDATE's values was a tenth of a worker's CPU per operation.
_STEPS: Table = OperationStep.__table__  # type: ignore[attr-defined]
_OPERATIONS: Table = Operation.__table__  # type: ignore[attr-defined]
_SERVICES: Table = ProvisionedService.__table__  # type: ignore[attr-defined]
_DEPLOYMENTS: Table = Deployment.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RowUpdate:
    """Values to set on the row of ``table`` whose key columns hold ``key``: a write given as data, so the
    writes of several operations' ends can share a statement (:func:`update_rows`)."""

    table: Table
    key: dict[str, Any]
    values: dict[str, Any]


def operation_update(operation_id: str, **values: Any) -> RowUpdate:
    return RowUpdate(_OPERATIONS, {"id": operation_id}, {"update_time": utcnow(), **values})


def service_update(name: str, environment: str, **values: Any) -> RowUpdate:
    key = {"name": name, "environment": environment}
    return RowUpdate(_SERVICES, key, {"update_time": utcnow(), **values})


def deployment_update(deployment_id: str, **values: Any) -> RowUpdate:
    return RowUpdate(_DEPLOYMENTS, {"id": deployment_id}, values)


@functools.lru_cache(maxsize=64)
def _row_update(table: Table, key: tuple[str, ...], names: tuple[str, ...]) -> Any:
    return (
        update(table)
        .where(*(table.c[k] == _param(f"k_{k}", table.c[k]) for k in key))
        .values({n: _param(f"v_{n}", table.c[n]) for n in names})
    )


def _params(u: RowUpdate) -> dict[str, Any]:
    return {**{f"k_{k}": v for k, v in u.key.items()}, **{f"v_{n}": v for n, v in u.values.items()}}


async def update_row(*, session: AsyncSession, row: RowUpdate) -> int:
    """Write one row update; how many rows it changed (0 when there is no such row)."""
    connection = await session.connection()
    statement = _row_update(row.table, tuple(row.key), tuple(row.values))
    return int((await connection.execute(statement, _params(row))).rowcount)


async def update_rows(*, session: AsyncSession, updates: Sequence[RowUpdate]) -> None:
    """Write ``updates`` as if one by one in order, in one statement (executemany) per table and set of
    columns; when a row is set more than once, they are written one by one, in order."""
    if not updates:
        return
    rows = [(u.table.name, *sorted(u.key.items())) for u in updates]
    if len(set(rows)) < len(rows):
        for u in updates:
            await update_row(session=session, row=u)
        return
    batches: dict[tuple[Table, tuple[str, ...], tuple[str, ...]], list[RowUpdate]] = {}
    for u in updates:
        batches.setdefault((u.table, tuple(u.key), tuple(u.values)), []).append(u)
    connection = await session.connection()
    for (table, key, names), batch in batches.items():
        await connection.execute(_row_update(table, key, names), [_params(u) for u in batch])


async def update_step(*, session: AsyncSession, operation_id: str, position: int, **values: Any) -> None:
    await _core(
        session,
        update(_STEPS)
        .where(_STEPS.c.operation_id == operation_id, _STEPS.c.position == position)
        .values(**values),
    )


def _param(name: str, column: Any) -> Any:
    return bindparam(name, type_=column.type)


# Built once: a statement made per call spent more CPU in its construction and cache key than in the
# database (the two run at every step boundary).
_FINISH_STEP = (
    update(_STEPS)
    .where(
        _STEPS.c.operation_id == _param("p_operation_id", _STEPS.c.operation_id),
        _STEPS.c.position == _param("p_position", _STEPS.c.position),
    )
    .values(
        state=_param("p_state", _STEPS.c.state),
        detail=_param("p_detail", _STEPS.c.detail),
        output=_param("p_output", _STEPS.c.output),
        end_time=_param("p_end_time", _STEPS.c.end_time),
        error=_param("p_error", _STEPS.c.error),
    )
)
_START_STEP = (
    update(_STEPS)
    .where(
        _STEPS.c.operation_id == _param("p_operation_id", _STEPS.c.operation_id),
        _STEPS.c.position == _param("p_position", _STEPS.c.position),
        ~select(_OPERATIONS.c.id)
        .where(
            _OPERATIONS.c.id == _param("p_operation_id", _OPERATIONS.c.id),
            _OPERATIONS.c.cancel_requested.is_(True),
        )
        .exists(),
    )
    .values(
        state="running",
        attempts=_param("p_attempts", _STEPS.c.attempts),
        start_time=_param("p_start_time", _STEPS.c.start_time),
    )
)


@dataclass(frozen=True)
class FinishedStep:
    """A step's end, to be written: its state (succeeded or skipped), what it did and when it ended."""

    operation_id: str
    position: int
    state: str
    detail: str
    output: dict[str, Any]
    end_time: datetime


async def finish_steps(*, session: AsyncSession, steps: Sequence[FinishedStep]) -> None:
    """Record the ends of ``steps`` (clearing an earlier attempt's error), in one statement."""
    if not steps:
        return
    connection = await session.connection()
    await connection.execute(
        _FINISH_STEP,
        [
            {
                "p_operation_id": s.operation_id,
                "p_position": s.position,
                "p_state": s.state,
                "p_detail": s.detail,
                "p_output": s.output,
                "p_end_time": s.end_time,
                "p_error": "",
            }
            for s in steps
        ],
    )


async def start_step(
    *, session: AsyncSession, operation_id: str, position: int, attempts: int, start_time: datetime
) -> bool:
    """Mark the step running, unless cancellation of the operation was asked for: one statement for
    both (whether it was is the answer, False when cancelled)."""
    connection = await session.connection()
    result = await connection.execute(
        _START_STEP,
        {
            "p_operation_id": operation_id,
            "p_position": position,
            "p_attempts": attempts,
            "p_start_time": start_time,
        },
    )
    return bool(result.rowcount)


@dataclass(frozen=True)
class StepStart:
    """A step to mark running: its attempt and when it started."""

    operation_id: str
    position: int
    attempts: int
    start_time: datetime


# PostgreSQL: the starts of many operations' steps in one statement, each unless cancellation of its
# operation was asked for; the rows it started come back.
_START_STEPS_PG = text(
    """
    UPDATE operation_steps AS s
    SET state = 'running', attempts = v.attempts, start_time = v.start_time
    FROM unnest(
        CAST(:operation_ids AS VARCHAR[]), CAST(:positions AS INTEGER[]),
        CAST(:attempts AS INTEGER[]), CAST(:start_times AS TIMESTAMP WITH TIME ZONE[])
    ) AS v(operation_id, position, attempts, start_time)
    WHERE s.operation_id = v.operation_id AND s.position = v.position
      AND NOT EXISTS (SELECT 1 FROM operations AS o WHERE o.id = v.operation_id AND o.cancel_requested)
    RETURNING s.operation_id
    """
)


async def start_steps(*, session: AsyncSession, starts: Sequence[StepStart]) -> set[str]:
    """Mark ``starts`` running, except the steps of operations whose cancellation was asked for; those
    operations' ids (none of their steps is started). One statement on PostgreSQL."""
    if not starts:
        return set()
    if _is_postgres(session):
        connection = await session.connection()
        rows = await connection.execute(
            _START_STEPS_PG,
            {
                "operation_ids": [s.operation_id for s in starts],
                "positions": [s.position for s in starts],
                "attempts": [s.attempts for s in starts],
                "start_times": [s.start_time for s in starts],
            },
        )
        return {s.operation_id for s in starts} - {str(row[0]) for row in rows}
    refused: set[str] = set()
    for s in starts:
        if s.operation_id not in refused and not await start_step(
            session=session,
            operation_id=s.operation_id,
            position=s.position,
            attempts=s.attempts,
            start_time=s.start_time,
        ):
            refused.add(s.operation_id)
    return refused


_MARK_RUNNING = (
    update(_OPERATIONS)
    .where(_OPERATIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(state="running", update_time=_param("p_now", _OPERATIONS.c.update_time))
)


async def mark_running(*, session: AsyncSession, operation_ids: Sequence[str]) -> None:
    """Pending operations whose first step started: running (one statement)."""
    if operation_ids:
        await (await session.connection()).execute(
            _MARK_RUNNING, {"ids": list(operation_ids), "p_now": utcnow()}
        )


async def operations_with_steps(
    *, session: AsyncSession, operation_ids: Sequence[str]
) -> dict[str, tuple[Operation, list[OperationStep]]]:
    """The operations among ``operation_ids`` that exist, each with its steps in order (two statements)."""
    if not operation_ids:
        return {}
    found = (await session.exec(_OPERATIONS_OF, params={"ids": list(operation_ids)})).all()
    steps = await steps_of_many(session=session, operation_ids=[o.id for o in found])
    return {o.id: (o, steps[o.id]) for o in found}


async def update_operation(*, session: AsyncSession, operation_id: str, **values: Any) -> int:
    return await update_row(session=session, row=operation_update(operation_id, **values))


#: The lease owner of an operation that waits parked (no worker holds it until it is woken or due).
PARKED = "parked"


async def park_operation(
    *, session: AsyncSession, operation_id: str, until: datetime, unless_payload_has: str
) -> bool:
    """Park an operation until ``until`` (its lease given to nobody), unless what it waits for has already
    arrived (``unless_payload_has`` in its payload) or its cancellation was asked: then False. The row is
    locked, so a decision recorded at the same time either is seen here or wakes the parked operation."""
    operation = await lock_operation(session=session, operation_id=operation_id)
    if operation is None or operation.done or operation.cancel_requested:
        return False
    if unless_payload_has in operation.payload:
        return False
    await update_operation(
        session=session, operation_id=operation_id, lease_owner=PARKED, lease_expires_at=until
    )
    return True


async def wake_operation(*, session: AsyncSession, operation_id: str) -> bool:
    """Make a parked operation claimable now; False when it was not parked (a worker holds it)."""
    result = await _core(
        session,
        update(Operation)
        .where(col(Operation.id) == operation_id, col(Operation.lease_owner) == PARKED)
        .values(lease_owner=None, lease_expires_at=None),
    )
    return bool(result.rowcount)


async def lock_operation(*, session: AsyncSession, operation_id: str) -> Operation | None:
    """The operation, locked for the transaction (PostgreSQL row lock; SQLite database write lock)."""
    if _is_postgres(session):
        stmt = select(Operation).where(col(Operation.id) == operation_id).with_for_update()
        return (await session.exec(stmt)).one_or_none()
    await _core(
        session,
        update(Operation).where(col(Operation.id) == operation_id).values(update_time=utcnow()),
    )
    return await session.get(Operation, operation_id, populate_existing=True)


# PostgreSQL: one statement; the rows another worker is claiming right now are skipped, not waited for. A
# CTE, not IN (subquery): PostgreSQL evaluates it once, so the LIMIT holds. Built once.
_CLAIMABLE = (
    select(_OPERATIONS.c.id)
    .where(
        _OPERATIONS.c.done.is_(False),
        or_(
            _OPERATIONS.c.lease_expires_at.is_(None),
            _OPERATIONS.c.lease_expires_at < _param("p_now", _OPERATIONS.c.lease_expires_at),
        ),
    )
    .order_by(_OPERATIONS.c.create_time)
    .limit(bindparam("p_limit", type_=Integer))
    .with_for_update(skip_locked=True)
    .cte("claimable")
)
_CLAIM_PG = (
    update(_OPERATIONS)
    .where(_OPERATIONS.c.id == _CLAIMABLE.c.id)
    .values(
        lease_owner=_param("p_owner", _OPERATIONS.c.lease_owner),
        lease_expires_at=_param("p_lease_until", _OPERATIONS.c.lease_expires_at),
    )
    .returning(_OPERATIONS.c.id, _OPERATIONS.c.create_time)
)


async def claim_operations(
    *, session: AsyncSession, owner: str, now: datetime, lease_until: datetime, limit: int
) -> list[str]:
    """Lease up to ``limit`` unfinished operations nobody holds (or whose lease expired); their ids."""
    if _is_postgres(session):
        claimed = await (await session.connection()).execute(
            _CLAIM_PG, {"p_now": now, "p_limit": limit, "p_owner": owner, "p_lease_until": lease_until}
        )
        return [str(row[0]) for row in sorted(claimed.all(), key=lambda row: row[1])]
    # SQLite: one statement, so the write lock is taken before anything is read.
    free = or_(col(Operation.lease_expires_at).is_(None), col(Operation.lease_expires_at) < now)
    candidates = (
        select(col(Operation.id))
        .where(col(Operation.done).is_(False), free)
        .order_by(col(Operation.create_time))
        .limit(limit)
        .scalar_subquery()
    )
    claim_mark = f"{owner}#{time.monotonic_ns()}"
    await _core(
        session,
        update(Operation)
        .where(col(Operation.id).in_(candidates))
        .values(lease_owner=claim_mark, lease_expires_at=lease_until)
        .execution_options(synchronize_session=False),
    )
    ids = list(
        (await session.exec(select(col(Operation.id)).where(col(Operation.lease_owner) == claim_mark))).all()
    )
    if ids:
        await _core(
            session,
            update(Operation)
            .where(col(Operation.lease_owner) == claim_mark)
            .values(lease_owner=owner)
            .execution_options(synchronize_session=False),
        )
    return ids


async def renew_leases(
    *, session: AsyncSession, operation_ids: Sequence[str], owner: str, lease_until: datetime
) -> set[str]:
    """Extend the leases ``owner`` still holds on unfinished operations among ``operation_ids``, in one
    statement; the ids renewed (the others were lost, or their operation ended)."""
    if not operation_ids:
        return set()
    result = await _core(
        session,
        update(_OPERATIONS)
        .where(
            _OPERATIONS.c.id.in_(operation_ids),
            _OPERATIONS.c.lease_owner == owner,
            _OPERATIONS.c.done.is_(False),
        )
        .values(lease_expires_at=lease_until)
        .returning(_OPERATIONS.c.id),
    )
    return {str(row[0]) for row in result.all()}


async def release_lease(*, session: AsyncSession, operation_id: str, owner: str) -> None:
    await _core(
        session,
        update(Operation)
        .where(col(Operation.id) == operation_id, col(Operation.lease_owner) == owner)
        .values(lease_owner=None, lease_expires_at=None),
    )
    await announce_work(session=session)


# Deployments ---------------------------------------------------------------------------------------------


def next_seq() -> int:
    return time.time_ns() // 1000


async def add_deployment(*, session: AsyncSession, deployment: Deployment) -> None:
    deployment.seq = deployment.seq or next_seq()
    deployment.start_time = deployment.start_time or utcnow()
    session.add(deployment)


async def update_deployment(*, session: AsyncSession, deployment_id: str, **values: Any) -> None:
    await update_row(session=session, row=deployment_update(deployment_id, **values))


async def get_deployment(*, session: AsyncSession, deployment_id: str) -> Deployment | None:
    return await session.get(Deployment, deployment_id)


async def list_deployments(
    *,
    session: AsyncSession,
    service: str,
    environment: str | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
    workflow: str | None = None,
) -> list[Deployment]:
    stmt = select(Deployment).where(col(Deployment.service) == service)
    if environment:
        stmt = stmt.where(col(Deployment.environment) == environment)
    if status:
        stmt = stmt.where(col(Deployment.status) == status)
    if workflow:
        stmt = stmt.where(col(Deployment.workflow) == workflow)
    stmt = stmt.order_by(col(Deployment.seq).desc()).offset(offset).limit(limit)
    return list((await session.exec(stmt)).all())


async def ping(*, session: AsyncSession) -> None:
    await _core(session, text("SELECT 1"))


async def deployments_since(
    *, session: AsyncSession, start: datetime, services: Sequence[str] | None = None
) -> list[Deployment]:
    """Deployments started at or after ``start`` (optionally of some services only), oldest first."""
    stmt = select(Deployment).where(col(Deployment.start_time) >= start)
    if services is not None:
        stmt = stmt.where(col(Deployment.service).in_(services))
    return list((await session.exec(stmt.order_by(col(Deployment.seq)))).all())


async def team_service_names(*, session: AsyncSession, team: str) -> list[str]:
    """Every service the team was ever given here (deleted ones too: their history still counts)."""
    stmt = select(col(ProvisionedService.name)).where(col(ProvisionedService.team) == team)
    return list((await session.exec(stmt)).all())


async def last_operation_start(*, session: AsyncSession, service: str, kind: str) -> datetime | None:
    """When the service's newest operation of ``kind`` was created (None: never)."""
    stmt = (
        select(Operation.create_time)
        .where(col(Operation.service) == service, col(Operation.kind) == kind)
        .order_by(col(Operation.create_time).desc())
        .limit(1)
    )
    return aware((await session.exec(stmt)).first())
