"""Queries of the catalog's tables; the only module that touches the session. Never commits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import count
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, exists, false, func, not_, or_, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_catalog.filtering import AllOf, AnyOf, Filter, Negation, Restriction
from paved_catalog.models import (
    BuiltinSeedRow,
    EnvironmentRow,
    ServiceEnvironmentRow,
    ServiceFactRow,
    ServiceRow,
    TemplateRevisionRow,
    TemplateRow,
)

_SERVICE_COLUMNS: dict[str, Any] = {
    "team": ServiceRow.__table__.c.team,  # type: ignore[attr-defined]
    "state": ServiceRow.__table__.c.state,  # type: ignore[attr-defined]
    "template": ServiceRow.__table__.c.template,  # type: ignore[attr-defined]
    "environment": ServiceRow.__table__.c.environment,  # type: ignore[attr-defined]
    "name": ServiceRow.__table__.c.name,  # type: ignore[attr-defined]
}
_SERVICES = ServiceRow.__table__  # type: ignore[attr-defined]
_CHILDREN = ServiceEnvironmentRow.__table__  # type: ignore[attr-defined]
_TEMPLATES = TemplateRow.__table__  # type: ignore[attr-defined]


# -- templates --------------------------------------------------------------------------------------


async def get_template(*, session: AsyncSession, name: str) -> TemplateRow | None:
    return await session.get(TemplateRow, name)


async def get_template_by_request_id(*, session: AsyncSession, request_id: str) -> TemplateRow | None:
    result = await session.exec(select(TemplateRow).where(col(TemplateRow.request_id) == request_id))
    return result.first()


async def list_templates(*, session: AsyncSession, after: str | None) -> Sequence[TemplateRow]:
    """Every template after ``after`` in name order (templates are few; filtering happens in memory)."""
    query = select(TemplateRow).order_by(col(TemplateRow.name))
    if after is not None:
        query = query.where(col(TemplateRow.name) > after)
    result = await session.exec(query)
    return result.all()


def add_template(*, session: AsyncSession, row: TemplateRow) -> None:
    session.add(row)


async def replace_template(
    *, session: AsyncSession, name: str, expected_etag: str, values: dict[str, Any]
) -> bool:
    """Compare-and-swap on the etag: True when the row still had ``expected_etag`` and was updated."""
    result = await session.exec(
        update(_TEMPLATES)
        .where(_TEMPLATES.c.name == name, _TEMPLATES.c.etag == expected_etag)
        .values(**values)
    )
    return bool(result.rowcount)


async def delete_template(*, session: AsyncSession, name: str, expected_etag: str | None) -> bool:
    query = delete(_TEMPLATES).where(_TEMPLATES.c.name == name)
    if expected_etag is not None:
        query = query.where(_TEMPLATES.c.etag == expected_etag)
    result = await session.exec(query)
    return bool(result.rowcount)


def add_template_revision(*, session: AsyncSession, row: TemplateRevisionRow) -> None:
    session.add(row)


async def get_template_revision(
    *, session: AsyncSession, template: str, revision: int
) -> TemplateRevisionRow | None:
    return await session.get(TemplateRevisionRow, (template, revision))


async def list_template_revisions(
    *, session: AsyncSession, template: str, before: int | None, limit: int
) -> Sequence[TemplateRevisionRow]:
    """Revisions of a template, newest first, below ``before`` when given."""
    query = select(TemplateRevisionRow).where(col(TemplateRevisionRow.template) == template)
    if before is not None:
        query = query.where(col(TemplateRevisionRow.revision) < before)
    result = await session.exec(query.order_by(col(TemplateRevisionRow.revision).desc()).limit(limit))
    return result.all()


async def delete_template_revisions(*, session: AsyncSession, template: str) -> None:
    await session.exec(delete(TemplateRevisionRow).where(col(TemplateRevisionRow.template) == template))


async def seeded_builtins(*, session: AsyncSession) -> set[str]:
    result = await session.exec(select(BuiltinSeedRow.name))
    return set(result.all())


def mark_seeded(*, session: AsyncSession, name: str, when: datetime) -> None:
    session.add(BuiltinSeedRow(name=name, seed_time=when))


# -- services ---------------------------------------------------------------------------------------


async def get_service(*, session: AsyncSession, name: str) -> ServiceRow | None:
    return await session.get(ServiceRow, name)


async def get_service_by_request_id(*, session: AsyncSession, request_id: str) -> ServiceRow | None:
    result = await session.exec(select(ServiceRow).where(col(ServiceRow.request_id) == request_id))
    return result.first()


def add_service(*, session: AsyncSession, row: ServiceRow) -> None:
    session.add(row)


async def update_service(
    *, session: AsyncSession, name: str, expected_etag: str, values: dict[str, Any]
) -> bool:
    """Compare-and-swap on the etag: True when the row still had ``expected_etag`` and was updated."""
    result = await session.exec(
        update(_SERVICES).where(_SERVICES.c.name == name, _SERVICES.c.etag == expected_etag).values(**values)
    )
    return bool(result.rowcount)


async def remove_service(*, session: AsyncSession, row: ServiceRow) -> None:
    """Delete a loaded service (and the facts reported before it was retired) and flush, so a new row may
    take its name; facts reported since (policy evaluates the new plan first) belong to the new one."""
    await session.exec(
        delete(ServiceFactRow).where(
            col(ServiceFactRow.service) == row.name, col(ServiceFactRow.update_time) <= row.update_time
        )
    )
    await session.exec(delete(_CHILDREN).where(_CHILDREN.c.service == row.name))
    await session.delete(row)
    await session.flush()


async def delete_service(*, session: AsyncSession, name: str) -> bool:
    """Delete the service, its environments and the facts reported about it."""
    await session.exec(delete(ServiceFactRow).where(col(ServiceFactRow.service) == name))
    await session.exec(delete(_CHILDREN).where(_CHILDREN.c.service == name))
    result = await session.exec(delete(_SERVICES).where(_SERVICES.c.name == name))
    return bool(result.rowcount)


async def latest_revisions(*, session: AsyncSession, templates: set[str]) -> dict[str, int]:
    """The current revision of each named template that exists."""
    if not templates:
        return {}
    query = sa_select(_TEMPLATES.c.name, _TEMPLATES.c.revision).where(
        _TEMPLATES.c.name.in_(sorted(templates))
    )
    result = await session.exec(query)  # type: ignore[call-overload]
    return {name: revision for name, revision in result.all()}


async def services_of_template(
    *, session: AsyncSession, template: str, service: str | None = None
) -> Sequence[ServiceRow]:
    """The services built from ``template`` (only ``service`` when given), by name, without their plans."""
    query = (
        select(ServiceRow)
        .where(ServiceRow.template == template)
        .options(
            defer(ServiceRow.plan, raiseload=True),  # type: ignore[arg-type]
            defer(ServiceRow.plan_summary, raiseload=True),  # type: ignore[arg-type]
        )
        .order_by(col(ServiceRow.name))
    )
    if service is not None:
        query = query.where(ServiceRow.name == service)
    return (await session.exec(query)).all()


async def count_services_of_template(*, session: AsyncSession, template: str) -> int:
    query = (
        select(func.count())
        .select_from(ServiceRow)
        .where(col(ServiceRow.template) == template, col(ServiceRow.state) != "DELETED")
    )
    result = await session.exec(query)
    return int(result.one())


def _where(node: Filter, bound: Iterator[str] | None = None) -> ColumnElement[bool]:
    """The condition of ``node``; given ``bound``, each value is a parameter of the next name from it."""

    def value(given: Any) -> Any:
        return given if bound is None else bindparam(next(bound))

    if isinstance(node, Restriction):
        if node.field == "environment":
            # A service matches every environment it runs in, not only the one it started in.
            runs_there = exists().where(
                _CHILDREN.c.service == _SERVICES.c.name, _CHILDREN.c.environment == value(node.value)
            )
            return runs_there if node.op == "=" else not_(runs_there)
        column = _SERVICE_COLUMNS[node.field]
        return column == value(node.value) if node.op == "=" else column != value(node.value)
    if isinstance(node, Negation):
        return not_(_where(node.operand, bound))
    if isinstance(node, AllOf):
        return and_(true(), *(_where(operand, bound) for operand in node.operands))
    return or_(false(), *(_where(operand, bound) for operand in node.operands))


def _shape(node: Filter) -> Filter:
    """``node`` without its values: filters of one shape share one statement."""
    if isinstance(node, Restriction):
        return Restriction(node.field, node.op, None)
    if isinstance(node, Negation):
        return Negation(_shape(node.operand))
    if isinstance(node, AllOf):
        return AllOf(tuple(_shape(operand) for operand in node.operands))
    return AnyOf(tuple(_shape(operand) for operand in node.operands))


def _values(node: Filter) -> list[Any]:
    """The values of ``node`` in the order :func:`_where` binds them."""
    if isinstance(node, Restriction):
        return [node.value]
    if isinstance(node, Negation):
        return _values(node.operand)
    return [value for operand in node.operands for value in _values(operand)]


async def list_services(
    *,
    session: AsyncSession,
    where: Filter | None,
    after: str | None,
    limit: int,
    with_plan: bool = True,
    with_summary: bool = True,
) -> Sequence[ServiceRow]:
    """Services matching ``where`` with a name after ``after``, in name order, at most ``limit``.

    Without ``with_plan`` / ``with_summary`` the plan (kilobytes per service) / its summary are not
    read, and touching them raises.
    """
    query = select(ServiceRow).order_by(col(ServiceRow.name)).limit(limit)
    if not with_plan:
        query = query.options(defer(ServiceRow.plan, raiseload=True))  # type: ignore[arg-type]
    if not with_summary:
        query = query.options(defer(ServiceRow.plan_summary, raiseload=True))  # type: ignore[arg-type]
    if where is not None:
        query = query.where(_where(where))
    if after is not None:
        query = query.where(col(ServiceRow.name) > after)
    result = await session.exec(query)
    return result.all()


# -- facts ------------------------------------------------------------------------------------------


async def get_facts(*, session: AsyncSession, service: str, source: str) -> ServiceFactRow | None:
    return await session.get(ServiceFactRow, (service, source))


def add_facts(*, session: AsyncSession, row: ServiceFactRow) -> None:
    session.add(row)


async def facts_of(*, session: AsyncSession, services: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """Facts by service and source for ``services``."""
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for start in range(0, len(services), 1000):
        chunk = list(services[start : start + 1000])
        rows = await session.exec(select(ServiceFactRow).where(col(ServiceFactRow.service).in_(chunk)))
        for row in rows.all():
            result.setdefault(row.service, {})[row.source] = dict(row.facts)
    return result


_BASIC_COLUMNS = tuple(c for c in _SERVICES.c if c.name not in ("plan", "plan_summary", "request_id"))
_PAGE_COLUMNS = {
    "basic": _BASIC_COLUMNS,
    "with_plan": tuple(c for c in _SERVICES.c if c.name not in ("plan_summary", "request_id")),
    "environments": (_SERVICES.c.name,),
}
_ENVIRONMENT_COLUMNS = tuple(c for c in _CHILDREN.c if c.name not in ("plan", "request_id"))


@lru_cache(maxsize=256)
def _page(columns: str, shape: Filter | None, with_after: bool) -> Any:
    """The statement of a page of ``columns`` (a key of ``_PAGE_COLUMNS``), built once per filter shape:
    building a statement and its cache key took several times the CPU of running it. The filter's values
    (``filter_0``, ...), ``limit`` and ``after`` are bound at execution."""
    query = sa_select(*_PAGE_COLUMNS[columns]).order_by(_SERVICES.c.name).limit(bindparam("limit"))
    if shape is not None:
        query = query.where(_where(shape, (f"filter_{i}" for i in count())))
    if with_after:
        query = query.where(_SERVICES.c.name > bindparam("after"))
    if columns == "environments":
        # The environments of the page's services, picked by the page's own query (binding its names
        # one by one costs more).
        return sa_select(*_ENVIRONMENT_COLUMNS).where(_CHILDREN.c.service.in_(query))
    return query


async def _read_page(
    session: AsyncSession, columns: str, where: Filter | None, after: str | None, limit: int
) -> Sequence[Any]:
    query = _page(columns, None if where is None else _shape(where), after is not None)
    params: dict[str, Any] = {"limit": limit, "after": after}
    if where is not None:
        params.update((f"filter_{i}", value) for i, value in enumerate(_values(where)))
    result = await session.exec(query, params=params)
    return result.all()


async def list_service_rows(
    *, session: AsyncSession, where: Filter | None, after: str | None, limit: int, with_plan: bool = False
) -> Sequence[Any]:
    """Like :func:`list_services` without the summary (and without the plan unless ``with_plan``), as plain
    rows (attribute access by column name): list pages skip building ORM objects, a large part of their
    CPU time."""
    return await _read_page(session, "with_plan" if with_plan else "basic", where, after, limit)


async def page_environments(
    *, session: AsyncSession, where: Filter | None, after: str | None, limit: int
) -> dict[str, list[Any]]:
    """Environment records (without plans, as plain rows) by service, of the services on the page
    :func:`list_service_rows` reads with the same arguments."""
    result: dict[str, list[Any]] = {}
    for row in await _read_page(session, "environments", where, after, limit):
        result.setdefault(row.service, []).append(row)
    return result


# -- environments -----------------------------------------------------------------------------------


async def list_environments(*, session: AsyncSession) -> Sequence[EnvironmentRow]:
    """The platform's environments in promotion order."""
    result = await session.exec(select(EnvironmentRow).order_by(col(EnvironmentRow.position)))
    return result.all()


async def environments_or_defaults(
    *, session: AsyncSession, defaults: Sequence[EnvironmentRow]
) -> Sequence[EnvironmentRow]:
    """The platform's environments; an empty table (a schema not made by the migrations) gets
    ``defaults`` first."""
    rows = await list_environments(session=session)
    if rows:
        return rows
    for row in defaults:
        session.add(row)
    await session.flush()
    return await list_environments(session=session)


async def get_environment(*, session: AsyncSession, name: str) -> EnvironmentRow | None:
    return await session.get(EnvironmentRow, name)


async def get_service_environment(
    *, session: AsyncSession, service: str, environment: str
) -> ServiceEnvironmentRow | None:
    return await session.get(ServiceEnvironmentRow, (service, environment))


def add_service_environment(*, session: AsyncSession, row: ServiceEnvironmentRow) -> None:
    session.add(row)


async def remove_service_environment(*, session: AsyncSession, service: str, environment: str) -> None:
    """Forget one environment record of a service."""
    await session.exec(
        delete(_CHILDREN).where(_CHILDREN.c.service == service, _CHILDREN.c.environment == environment)
    )


async def service_environments(
    *, session: AsyncSession, services: Sequence[str], with_plan: bool = False
) -> dict[str, list[ServiceEnvironmentRow]]:
    """Environment records by service for ``services`` (plans only ``with_plan``)."""
    result: dict[str, list[ServiceEnvironmentRow]] = {}
    for start in range(0, len(services), 1000):
        chunk = list(services[start : start + 1000])
        query = select(ServiceEnvironmentRow).where(col(ServiceEnvironmentRow.service).in_(chunk))
        if not with_plan:
            query = query.options(defer(ServiceEnvironmentRow.plan, raiseload=True))  # type: ignore[arg-type]
        rows = await session.exec(query)
        for row in rows.all():
            result.setdefault(row.service, []).append(row)
    return result


async def update_service_environment(
    *, session: AsyncSession, service: str, environment: str, expected_etag: str, values: dict[str, Any]
) -> bool:
    """Compare-and-swap on the etag: True when the row still had ``expected_etag`` and was updated."""
    result = await session.exec(
        update(_CHILDREN)
        .where(
            _CHILDREN.c.service == service,
            _CHILDREN.c.environment == environment,
            _CHILDREN.c.etag == expected_etag,
        )
        .values(**values)
    )
    return bool(result.rowcount)
