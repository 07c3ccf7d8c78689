"""The catalog's use cases: each runs in one transaction over the store and the domain modules.

The gRPC servicer converts messages and calls these; nothing here knows about gRPC.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from paved_kit.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from paved_kit.logging import get_logger
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_catalog import backstage, scorecards, store
from paved_catalog.builtins import builtin_documents
from paved_catalog.document import ParsedDocument, parse_template_document
from paved_catalog.filtering import FieldRule, Filter, matches, parse_bool, parse_filter
from paved_catalog.models import ServiceFactRow, ServiceRow, TemplateRow
from paved_catalog.pagination import decode_token, encode_token, page_size
from paved_catalog.parameters import ParameterCheck, check_parameters
from paved_catalog.registry import (
    SERVICE_FILTER_FIELDS,
    ServiceDraft,
    State,
    check_new_service,
    check_transition,
    check_update_mask,
    update_violations,
)
from paved_catalog.render_context import PlatformDefaults, RenderContext, is_dns_label
from paved_catalog.rendering import RenderedPlan, render
from paved_catalog.spec import TemplateSpec

_log = get_logger(__name__)

TEMPLATE_FILTER_FIELDS: dict[str, FieldRule] = {
    "name": FieldRule(normalise=lambda value: value.removeprefix("templates/")),
    "builtin": FieldRule(normalise=parse_bool),
}
EXPORT_BATCH = 1000


def _now() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=256)
def parse_document(document: str) -> ParsedDocument:
    """Parsed documents, cached: stored templates are read far more often than they change."""
    return parse_template_document(document)


def _template_etag(name: str, revision: int, document: str) -> str:
    digest = hashlib.sha256(f"{name}\0{revision}\0{document}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def _service_etag() -> str:
    return f'"{uuid.uuid4().hex[:20]}"'


def document_error(parsed: ParsedDocument) -> InvalidArgument:
    """The violations of a document as an INVALID_ARGUMENT naming each path under ``document``."""
    violations = []
    for v in parsed.violations:
        where = f"line {v.line}, column {v.column}: " if v.line else ""
        violations.append(
            FieldViolation(f"document.{v.path}" if v.path else "document", f"{where}{v.message}")
        )
    return InvalidArgument(
        f"the template document has {len(violations)} problem(s)", violations, reason="INVALID_TEMPLATE"
    )


@dataclass(frozen=True)
class TemplateView:
    """A stored template and its parsed spec."""

    row: TemplateRow
    spec: TemplateSpec


class Catalog:
    """Templates, rendering and the service registry over one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        defaults: PlatformDefaults,
        links: backstage.ExportLinks,
        clock: Callable[[], datetime] = _now,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        # Single-statement reads need no transaction; sessions in autocommit spare the BEGIN/ROLLBACK
        # round trips on the hot paths (get, list).
        self._reads = read_sessions or sessions
        self.defaults = defaults
        self.links = links
        self._clock = clock

    # -- templates ---------------------------------------------------------------------------------

    def _view(self, row: TemplateRow) -> TemplateView:
        parsed = parse_document(row.document)
        if parsed.spec is None:
            # Stored documents were valid when written; a newer, stricter validator must not hide them.
            raise FailedPrecondition(
                f"templates/{row.name} no longer validates; update its document",
                [PreconditionViolation("TEMPLATE", f"templates/{row.name}", "stored document is invalid")],
                reason="TEMPLATE_INVALID",
            )
        return TemplateView(row, parsed.spec)

    async def seed_builtins(self) -> list[str]:
        """Load the shipped golden paths that were never loaded before; returns the names loaded."""
        loaded: list[str] = []
        try:
            async with self._sessions() as session, session.begin():
                seeded = await store.seeded_builtins(session=session)
                now = self._clock()
                for document in builtin_documents().values():
                    parsed = parse_document(document)
                    assert parsed.spec is not None, parsed.violations
                    name = parsed.spec.name
                    if name in seeded:
                        continue
                    store.mark_seeded(session=session, name=name, when=now)
                    if await store.get_template(session=session, name=name) is None:
                        store.add_template(
                            session=session, row=self._new_template_row(parsed, document, True, None)
                        )
                        loaded.append(name)
        except IntegrityError:
            # Another replica seeded at the same moment; its transaction won.
            return []
        if loaded:
            _log.info("built-in templates loaded", templates=loaded)
        return loaded

    def _new_template_row(
        self, parsed: ParsedDocument, document: str, builtin: bool, request_id: str | None
    ) -> TemplateRow:
        assert parsed.spec is not None
        now = self._clock()
        return TemplateRow(
            name=parsed.spec.name,
            description=parsed.spec.description,
            document=document,
            revision=1,
            etag=_template_etag(parsed.spec.name, 1, document),
            builtin=builtin,
            request_id=request_id,
            create_time=now,
            update_time=now,
        )

    def validate_template(self, document: str) -> ParsedDocument:
        return parse_template_document(document)

    async def create_template(self, document: str, request_id: str) -> TemplateView:
        parsed = parse_template_document(document)
        if parsed.spec is None:
            raise document_error(parsed)
        name = parsed.spec.name
        try:
            async with self._sessions() as session, session.begin():
                if request_id:
                    earlier = await store.get_template_by_request_id(session=session, request_id=request_id)
                    if earlier is not None:
                        return self._replayed_template(earlier, name, request_id)
                existing = await store.get_template(session=session, name=name)
                if existing is not None:
                    if request_id and existing.request_id == request_id:
                        return self._view(existing)
                    raise AlreadyExists(f"templates/{name} already exists", metadata={"template": name})
                row = self._new_template_row(parsed, document, False, request_id or None)
                store.add_template(session=session, row=row)
        except IntegrityError:
            async with self._reads() as session:
                if request_id:
                    earlier = await store.get_template_by_request_id(session=session, request_id=request_id)
                    if earlier is not None:
                        return self._replayed_template(earlier, name, request_id)
            raise AlreadyExists(f"templates/{name} already exists", metadata={"template": name}) from None
        return TemplateView(row, parsed.spec)

    def _replayed_template(self, earlier: TemplateRow, name: str, request_id: str) -> TemplateView:
        if earlier.name != name:
            raise AlreadyExists(
                f"request_id {request_id!r} was already used to create templates/{earlier.name}",
                reason="REQUEST_ID_REUSED",
            )
        return self._view(earlier)

    async def get_template(self, template_id: str) -> TemplateView:
        async with self._reads() as session:
            row = await store.get_template(session=session, name=template_id)
        if row is None:
            raise NotFound(f"templates/{template_id} not found", metadata={"template": template_id})
        return self._view(row)

    async def list_templates(
        self, requested_size: int, token: str, filter_text: str
    ) -> tuple[list[TemplateView], str]:
        size = page_size(requested_size)
        where = parse_filter(filter_text, TEMPLATE_FILTER_FIELDS)
        after = decode_token(token, filter_text)
        async with self._reads() as session:
            rows = await store.list_templates(session=session, after=after)
        chosen = [r for r in rows if matches(where, {"name": r.name, "builtin": r.builtin})]
        page = chosen[:size]
        next_token = encode_token(page[-1].name, filter_text) if len(chosen) > size else ""
        return [self._view(r) for r in page], next_token

    async def update_template(self, template_id: str, document: str, etag: str) -> TemplateView:
        if not etag:
            raise InvalidArgument(
                "etag is required",
                [FieldViolation("etag", "required: send the etag of the revision you edited")],
            )
        parsed = parse_template_document(document)
        if parsed.spec is None:
            raise document_error(parsed)
        if parsed.spec.name != template_id:
            raise InvalidArgument(
                "a template cannot be renamed",
                [FieldViolation("document.metadata.name", f"must stay {template_id!r}")],
            )
        async with self._sessions() as session, session.begin():
            row = await store.get_template(session=session, name=template_id)
            if row is None:
                raise NotFound(f"templates/{template_id} not found", metadata={"template": template_id})
            if row.etag != etag:
                raise self._etag_mismatch("templates", template_id)
            revision = row.revision + 1
            values = {
                "document": document,
                "description": parsed.spec.description,
                "revision": revision,
                "etag": _template_etag(template_id, revision, document),
                "update_time": self._clock(),
            }
            if not await store.replace_template(
                session=session, name=template_id, expected_etag=etag, values=values
            ):
                raise self._etag_mismatch("templates", template_id)
            await session.refresh(row)
        return TemplateView(row, parsed.spec)

    @staticmethod
    def _etag_mismatch(collection: str, resource_id: str) -> Aborted:
        return Aborted(
            f"{collection}/{resource_id} was changed by someone else; read it again and retry",
            reason="ETAG_MISMATCH",
            metadata={"resource": f"{collection}/{resource_id}"},
        )

    async def delete_template(self, template_id: str, etag: str) -> None:
        async with self._sessions() as session, session.begin():
            row = await store.get_template(session=session, name=template_id)
            if row is None:
                raise NotFound(f"templates/{template_id} not found", metadata={"template": template_id})
            if etag and row.etag != etag:
                raise self._etag_mismatch("templates", template_id)
            in_use = await store.count_services_of_template(session=session, template=template_id)
            if in_use:
                raise FailedPrecondition(
                    f"templates/{template_id} is used by {in_use} service(s)",
                    [
                        PreconditionViolation(
                            "TEMPLATE_IN_USE",
                            f"templates/{template_id}",
                            f"{in_use} registered service(s) were built from it; delete them first",
                        )
                    ],
                    reason="TEMPLATE_IN_USE",
                )
            if not await store.delete_template(session=session, name=template_id, expected_etag=row.etag):
                raise self._etag_mismatch("templates", template_id)

    # -- validate and render ----------------------------------------------------------------------

    async def validate_parameters(self, template_id: str, parameters: Mapping[str, Any]) -> ParameterCheck:
        view = await self.get_template(template_id)
        return check_parameters(view.spec, parameters)

    async def render(
        self, template_id: str, parameters: Mapping[str, Any], context: RenderContext
    ) -> RenderedPlan:
        view = await self.get_template(template_id)
        return render(view.spec, view.row.revision, parameters, context, self.defaults)

    # -- services ----------------------------------------------------------------------------------

    async def create_service(self, draft: ServiceDraft, request_id: str) -> ServiceRow:
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
                        raise AlreadyExists(
                            f"services/{draft.service_id} already exists",
                            metadata={"service": draft.service_id},
                        )
                    # A deleted service's name is free again; the new registration starts afresh.
                    await store.remove_service(session=session, row=existing)
                store.add_service(session=session, row=row)
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

    @staticmethod
    def _replayed_service(earlier: ServiceRow, service_id: str, request_id: str) -> ServiceRow:
        if earlier.name != service_id:
            raise AlreadyExists(
                f"request_id {request_id!r} was already used to create services/{earlier.name}",
                reason="REQUEST_ID_REUSED",
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
    ) -> tuple[list[ServiceRow], str]:
        size = page_size(requested_size)
        where = parse_filter(filter_text, SERVICE_FILTER_FIELDS)
        after = decode_token(token, filter_text)
        async with self._reads() as session:
            if with_plan:
                rows: list[Any] = list(
                    await store.list_services(
                        session=session, where=where, after=after, limit=size + 1, with_summary=False
                    )
                )
            else:
                rows = list(
                    await store.list_basic_services(session=session, where=where, after=after, limit=size + 1)
                )
        next_token = encode_token(rows[size - 1].name, filter_text) if len(rows) > size else ""
        return rows[:size], next_token

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
                raise self._etag_mismatch("services", draft.service_id)
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
                raise self._etag_mismatch("services", draft.service_id)
            await session.refresh(row)
        return row

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
                async with self._sessions() as session, session.begin():
                    if await store.get_service(session=session, name=service_id) is None:
                        raise NotFound(f"services/{service_id} not found", metadata={"service": service_id})
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
        return [_service_record(row, facts.get(row.name, {})) for row in rows]

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

    async def export_entities(self, filter_text: str) -> list[dict[str, Any]]:
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
                views.extend(_service_view(row) for row in rows)
                if len(rows) < EXPORT_BATCH:
                    break
                after = rows[-1].name
        return backstage.service_entities(views, self.links)

    async def export_template(self, template_id: str, proxy_path: str) -> dict[str, Any]:
        if proxy_path and not proxy_path.startswith("/"):
            raise InvalidArgument(
                "proxy_path must be an absolute path", [FieldViolation("proxy_path", "must start with '/'")]
            )
        view = await self.get_template(template_id)
        return backstage.software_template(view.spec, view.row.revision, self.links, proxy_path)


def _service_view(row: ServiceRow) -> backstage.ServiceView:
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
    )


def _service_record(row: ServiceRow, facts: dict[str, dict[str, Any]]) -> scorecards.ServiceRecord:
    return scorecards.ServiceRecord(
        service=row.name,
        team=row.team,
        template=row.template,
        state=row.state,
        documentation_url=row.documentation_url,
        endpoints=row.endpoints,
        plan_summary=row.plan_summary,
        facts=facts,
    )
