"""Use cases of the service registry: register, list, update and delete services, export them to
Backstage and score their maturity; each runs in one transaction over the store and the domain modules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from paved_kit.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_catalog import backstage, environments, scorecards, store
from paved_catalog.conflicts import etag_mismatch, utc_now
from paved_catalog.environment_registry import EnvironmentRegistry
from paved_catalog.filtering import Filter, parse_filter
from paved_catalog.models import ServiceEnvironmentRow, ServiceFactRow, ServiceRow
from paved_catalog.pagination import decode_token, encode_token, page_size
from paved_catalog.registry import (
    SERVICE_FILTER_FIELDS,
    ServiceDraft,
    State,
    check_new_service,
    check_transition,
    check_update_mask,
    update_violations,
)
from paved_catalog.render_context import is_dns_label

EXPORT_BATCH = 1000
# Fields of a service update that also describe its environment record.
_MIRRORED = ("state", "plan", "namespace", "endpoints", "annotations")


@lru_cache(maxsize=1024)
def _service_filter(text: str) -> Filter | None:
    """``text`` parsed as a service filter, once per distinct text: clients page through one filter
    again and again, and parsing it was a tenth of a basic page's CPU time."""
    return parse_filter(text, SERVICE_FILTER_FIELDS)


def _service_etag() -> str:
    return f'"{uuid.uuid4().hex[:20]}"'


class ServiceRegistry:
    """Registered services over one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        links: backstage.ExportLinks,
        clock: Callable[[], datetime] = utc_now,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        # Single-statement reads need no transaction; sessions in autocommit spare the BEGIN/ROLLBACK
        # round trips on the hot paths (get, list).
        self._reads = read_sessions or sessions
        self.links = links
        self._clock = clock
        self._environments = EnvironmentRegistry(sessions, clock, read_sessions)

    # -- services ----------------------------------------------------------------------------------

    async def create_service(self, draft: ServiceDraft, request_id: str) -> ServiceRow:
        """Register a service in ``draft.environment``; when the same service (same team and template) is
        registered already, add that environment to it instead."""
        check_new_service(draft, request_id)
        now = self._clock()
        row = ServiceRow(
            name=draft.service_id,
            uid=str(uuid.uuid4()),
            team=draft.team,
            template=draft.template,
            template_revision=draft.template_revision,
            environment=draft.environment,
            state=(draft.state or State.PROVISIONING).value,
            parameters=draft.parameters,
            endpoints=draft.endpoints,
            dashboards=draft.dashboards,
            documentation_url=draft.documentation_url,
            plan=draft.plan,
            plan_summary=draft.plan_summary,
            database_engine=draft.database_engine,
            namespace=draft.namespace,
            annotations=draft.annotations,
            etag=_service_etag(),
            request_id=request_id or None,
            create_time=now,
            update_time=now,
        )
        try:
            async with self._sessions() as session, session.begin():
                found = await store.environments_or_defaults(
                    session=session, defaults=self._environments.defaults()
                )
                environments.check_known(draft.environment, [e.name for e in found], "service.environment")
                if request_id:
                    earlier = await store.get_service_by_request_id(session=session, request_id=request_id)
                    if earlier is not None:
                        return self._replayed_service(earlier, draft.service_id, request_id)
                existing = await store.get_service(session=session, name=draft.service_id)
                if existing is not None:
                    if request_id and existing.request_id == request_id:
                        # A retry that raced the first attempt past the request_id lookup.
                        return existing
                    if existing.state != State.DELETED:
                        await self._add_environment(session, existing, draft, request_id)
                        return existing
                    # A deleted service's name is free again; the new registration starts afresh.
                    await store.remove_service(session=session, row=existing)
                store.add_service(session=session, row=row)
                store.add_service_environment(session=session, row=_child(row, draft, request_id))
        except IntegrityError:
            async with self._reads() as session:
                if request_id:
                    earlier = await store.get_service_by_request_id(session=session, request_id=request_id)
                    if earlier is not None:
                        return self._replayed_service(earlier, draft.service_id, request_id)
            raise AlreadyExists(
                f"services/{draft.service_id} already exists", metadata={"service": draft.service_id}
            ) from None
        return row

    async def _add_environment(
        self, session: AsyncSession, existing: ServiceRow, draft: ServiceDraft, request_id: str
    ) -> None:
        children = await store.service_environments(session=session, services=[existing.name])
        present = {c.environment: c for c in children.get(existing.name, [])}
        replay = present.get(draft.environment)
        if replay is not None and request_id and replay.request_id == request_id:
            return
        environments.check_joins(
            existing.name,
            team=draft.team,
            template=draft.template,
            existing_team=existing.team,
            existing_template=existing.template,
            environment=draft.environment,
            present=list(present),
        )
        overrides = {k: v for k, v in draft.parameters.items() if existing.parameters.get(k) != v}
        child = _child(existing, draft, request_id, self._clock())
        child.parameter_overrides = overrides
        store.add_service_environment(session=session, row=child)

    async def get_service_view(self, service_id: str) -> tuple[ServiceRow, list[ServiceEnvironmentRow]]:
        """The service and its environments (without their plans) in promotion order, read together."""
        async with self._reads() as session:
            row = await store.get_service(session=session, name=service_id)
            if row is None:
                raise NotFound(f"services/{service_id} not found", metadata={"service": service_id})
            children = await store.service_environments(session=session, services=[service_id])
            order = [e.name for e in await store.list_environments(session=session)]
        return row, _ordered(children.get(service_id, []), order)

    @staticmethod
    def _replayed_service(earlier: ServiceRow, service_id: str, request_id: str) -> ServiceRow:
        if earlier.name != service_id:
            raise AlreadyExists(
                f"request_id {request_id!r} was already used to create services/{earlier.name}",
                reason="REQUEST_ID_REUSED",
                metadata={"service": earlier.name, "request_id": request_id},
            )
        return earlier

    async def get_service(self, service_id: str) -> ServiceRow:
        async with self._reads() as session:
            row = await store.get_service(session=session, name=service_id)
        if row is None:
            raise NotFound(f"services/{service_id} not found", metadata={"service": service_id})
        return row

    async def list_services(
        self, requested_size: int, token: str, filter_text: str, *, with_plan: bool = False
    ) -> tuple[list[ServiceRow], str, dict[str, list[ServiceEnvironmentRow]]]:
        """A page of services; the full view comes with each one's environments (without plans)."""
        size = page_size(requested_size)
        where = _service_filter(filter_text)
        after = decode_token(token, filter_text)
        children: dict[str, list[ServiceEnvironmentRow]] = {}
        async with self._reads() as session:
            rows: list[Any] = list(
                await store.list_service_rows(
                    session=session, where=where, after=after, limit=size + 1, with_plan=with_plan
                )
            )
            if with_plan:
                found = await store.page_environments(session=session, where=where, after=after, limit=size)
                if found:  # the promotion order is needed only to sort environments a page has
                    order = [e.name for e in await store.list_environments(session=session)]
                    children = {name: _ordered(found_rows, order) for name, found_rows in found.items()}
        next_token = encode_token(rows[size - 1].name, filter_text) if len(rows) > size else ""
        return rows[:size], next_token, children

    async def update_service(self, draft: ServiceDraft, paths: list[str], etag: str) -> ServiceRow:
        check_update_mask(paths)
        problems = update_violations(draft, paths)
        if problems:
            raise InvalidArgument("the update is invalid", problems)
        async with self._sessions() as session, session.begin():
            row = await store.get_service(session=session, name=draft.service_id)
            if row is None:
                raise NotFound(
                    f"services/{draft.service_id} not found", metadata={"service": draft.service_id}
                )
            if etag and etag != row.etag:
                raise etag_mismatch("services", draft.service_id)
            values: dict[str, Any] = {}
            for path in paths:
                if path == "state":
                    assert draft.state is not None
                    check_transition(draft.service_id, State(row.state), draft.state)
                    values["state"] = draft.state.value
                else:
                    values[path] = getattr(draft, path)
                if path == "plan":
                    values.update(
                        plan_summary=draft.plan_summary,
                        database_engine=draft.database_engine,
                        namespace=draft.namespace,
                    )
            values["etag"] = _service_etag()
            values["update_time"] = self._clock()
            if not await store.update_service(
                session=session, name=draft.service_id, expected_etag=row.etag, values=values
            ):
                raise etag_mismatch("services", draft.service_id)
            await session.refresh(row)
            await self._mirror_to_home_environment(session, row, values)
        return row

    async def _mirror_to_home_environment(
        self, session: AsyncSession, row: ServiceRow, values: dict[str, Any]
    ) -> None:
        """Keep the record of the environment the service row describes in step with it, so callers that
        update the service as a whole (one environment) see the same in its environment record."""
        mirrored = {k: values[k] for k in _MIRRORED if k in values}
        if not mirrored:
            return
        child = await store.get_service_environment(
            session=session, service=row.name, environment=row.environment
        )
        now = self._clock()
        if child is None:
            draft = ServiceDraft(service_id=row.name, environment=row.environment, state=State(row.state))
            child = _child(row, draft, "", now)
            child.plan, child.namespace = row.plan, row.namespace
            child.endpoints, child.annotations = list(row.endpoints), dict(row.annotations)
            store.add_service_environment(session=session, row=child)
            return
        for key, value in mirrored.items():
            setattr(child, key, value)
        child.etag, child.update_time = _service_etag(), now

    async def delete_service(self, service_id: str) -> None:
        async with self._sessions() as session, session.begin():
            if not await store.delete_service(session=session, name=service_id):
                raise NotFound(f"services/{service_id} not found", metadata={"service": service_id})

    # -- scorecards ---------------------------------------------------------------------------------

    async def report_facts(self, service_id: str, source: str, facts: dict[str, Any]) -> None:
        problems = scorecards.fact_violations(source, facts)
        if problems:
            raise InvalidArgument("the facts report is invalid", problems)
        for attempt in range(2):
            try:
                # Facts about a name not registered yet are kept: policy evaluates a service's plan before
                # provisioning registers it, and the scorecard picks them up once it is registered.
                async with self._sessions() as session, session.begin():
                    row = await store.get_facts(session=session, service=service_id, source=source)
                    if row is None:
                        store.add_facts(
                            session=session,
                            row=ServiceFactRow(
                                service=service_id, source=source, facts=facts, update_time=self._clock()
                            ),
                        )
                    else:
                        row.facts = {**row.facts, **facts}
                        row.update_time = self._clock()
                return
            except IntegrityError:
                # Two first reports from one source raced; the second merges into the first.
                if attempt:
                    raise
        return

    async def _records(self, rows: list[ServiceRow]) -> list[scorecards.ServiceRecord]:
        async with self._reads() as session:
            facts = await store.facts_of(session=session, services=[r.name for r in rows])
            latest = await store.latest_revisions(session=session, templates={r.template for r in rows})
        return [_service_record(row, facts.get(row.name, {}), latest.get(row.template, 0)) for row in rows]

    async def get_scorecard(self, service_id: str) -> scorecards.Scorecard:
        row = await self.get_service(service_id)
        (record,) = await self._records([row])
        return scorecards.scorecard(record, self._clock())

    async def summarize_scorecards(self, team: str) -> scorecards.Summary:
        if team and not is_dns_label(team):
            raise InvalidArgument(
                "team is not a valid team name", [FieldViolation("team", "must be a DNS-1123 label")]
            )
        where = parse_filter(f'team = "{team}"' if team else "", SERVICE_FILTER_FIELDS)
        records: list[scorecards.ServiceRecord] = []
        after: str | None = None
        while True:
            async with self._reads() as session:
                rows = list(
                    await store.list_services(
                        session=session, where=where, after=after, limit=EXPORT_BATCH, with_plan=False
                    )
                )
            records += await self._records(rows)
            if len(rows) < EXPORT_BATCH:
                break
            after = rows[-1].name
        return scorecards.summarize(records, self._clock())

    # -- Backstage ---------------------------------------------------------------------------------

    async def export_entities(self, filter_text: str, location_url: str = "") -> list[dict[str, Any]]:
        """Backstage entities of the matching services; ``location_url`` (where Backstage reads them)
        overrides the configured location in their managed-by-location annotations."""
        where: Filter | None = parse_filter(filter_text, SERVICE_FILTER_FIELDS)
        views: list[backstage.ServiceView] = []
        after: str | None = None
        async with self._reads() as session:
            while True:
                rows = await store.list_services(
                    session=session,
                    where=where,
                    after=after,
                    limit=EXPORT_BATCH,
                    with_plan=False,
                    with_summary=False,
                )
                children = await store.service_environments(session=session, services=[r.name for r in rows])
                order = [e.name for e in await store.list_environments(session=session)]
                latest = await store.latest_revisions(session=session, templates={r.template for r in rows})
                views.extend(
                    _service_view(
                        row, _ordered(children.get(row.name, []), order), latest.get(row.template, 0)
                    )
                    for row in rows
                )
                if len(rows) < EXPORT_BATCH:
                    break
                after = rows[-1].name
        links = replace(self.links, location_url=location_url) if location_url else self.links
        return backstage.service_entities(views, links)


def _child(
    row: ServiceRow, draft: ServiceDraft, request_id: str, now: datetime | None = None
) -> ServiceEnvironmentRow:
    """The environment record a registration creates: what the draft says runs there."""
    when = now or row.create_time
    return ServiceEnvironmentRow(
        service=row.name,
        environment=draft.environment,
        state=(draft.state or State.PROVISIONING).value,
        parameter_overrides={},
        plan=draft.plan,
        template_revision=draft.template_revision or row.template_revision or 1,
        namespace=draft.namespace,
        endpoints=draft.endpoints,
        annotations=draft.annotations,
        etag=_service_etag(),
        request_id=request_id or None,
        create_time=when,
        update_time=when,
    )


def _ordered(children: list[ServiceEnvironmentRow], order: list[str]) -> list[ServiceEnvironmentRow]:
    ranked = environments.in_order([c.environment for c in children], order)
    by_name = {c.environment: c for c in children}
    return [by_name[name] for name in ranked]


def _service_view(
    row: ServiceRow, children: list[ServiceEnvironmentRow], latest_revision: int = 0
) -> backstage.ServiceView:
    engine = row.database_engine
    if not engine and row.parameters.get("database") not in (None, "none"):
        engine = str(row.parameters["database"])
    return backstage.ServiceView(
        name=row.name,
        uid=row.uid,
        team=row.team,
        template=row.template,
        environment=row.environment,
        state=row.state,
        parameters=row.parameters,
        endpoints=row.endpoints,
        dashboards=row.dashboards,
        documentation_url=row.documentation_url,
        has_database=bool(engine),
        database_engine=engine,
        namespace=row.namespace or row.team,
        environments=tuple((c.environment, c.state, c.version, tuple(c.endpoints)) for c in children),
        template_revision=row.template_revision or 1,
        latest_revision=latest_revision,
        environment_revisions=tuple((c.environment, c.template_revision) for c in children),
    )


def _service_record(
    row: ServiceRow, facts: dict[str, dict[str, Any]], latest_revision: int = 0
) -> scorecards.ServiceRecord:
    return scorecards.ServiceRecord(
        # Records from before revisions were kept were rendered from the first one (as migration 0003 says).
        template_revision=row.template_revision or 1,
        latest_revision=latest_revision,
        service=row.name,
        team=row.team,
        template=row.template,
        state=row.state,
        documentation_url=row.documentation_url,
        endpoints=row.endpoints,
        plan_summary=row.plan_summary,
        facts=facts,
    )
