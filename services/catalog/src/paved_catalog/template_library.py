"""Use cases of golden-path templates: store, validate, render and export them; each runs in one
transaction over the store and the domain modules, and knows nothing about gRPC."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from paved_kit.errors import (
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

from paved_catalog import backstage, revisions, store
from paved_catalog.builtins import builtin_documents_by_template
from paved_catalog.conflicts import etag_mismatch, utc_now
from paved_catalog.document import ParsedDocument, parse_template_document
from paved_catalog.filtering import FieldRule, matches, parse_bool, parse_filter
from paved_catalog.models import TemplateRevisionRow, TemplateRow
from paved_catalog.pagination import decode_token, encode_token, page_size
from paved_catalog.parameters import ParameterCheck, check_parameters
from paved_catalog.render_context import PlatformDefaults, RenderContext
from paved_catalog.rendering import RenderedPlan, render
from paved_catalog.spec import TemplateSpec

_log = get_logger(__name__)

TEMPLATE_FILTER_FIELDS: dict[str, FieldRule] = {
    "name": FieldRule(normalise=lambda value: value.removeprefix("templates/")),
    "builtin": FieldRule(normalise=parse_bool),
}


@lru_cache(maxsize=256)
def parse_document(document: str) -> ParsedDocument:
    """Parsed documents, cached: stored templates are read far more often than they change."""
    return parse_template_document(document)


def _template_etag(name: str, revision: int, document: str) -> str:
    digest = hashlib.sha256(f"{name}\0{revision}\0{document}".encode()).hexdigest()[:20]
    return f'"{digest}"'


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


class TemplateLibrary:
    """Golden-path templates over one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        defaults: PlatformDefaults,
        links: backstage.ExportLinks,
        clock: Callable[[], datetime] = utc_now,
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
                for name, document in builtin_documents_by_template().items():
                    if name in seeded:
                        continue  # known by name, so a restart parses no document (nor builds the grammars)
                    parsed = parse_document(document)
                    assert parsed.spec is not None and parsed.spec.name == name, parsed.violations
                    store.mark_seeded(session=session, name=name, when=now)
                    if await store.get_template(session=session, name=name) is None:
                        row = self._new_template_row(parsed, document, True, None)
                        store.add_template(session=session, row=row)
                        self._record_revision(session, row, author="", change_note="built-in template")
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

    def _record_revision(
        self, session: AsyncSession, row: TemplateRow, author: str, change_note: str
    ) -> None:
        store.add_template_revision(
            session=session,
            row=revisions.revision_row(
                template=row.name,
                revision=row.revision,
                document=row.document,
                author=author,
                change_note=change_note,
                when=row.update_time,
            ),
        )

    def validate_template(self, document: str) -> ParsedDocument:
        return parse_template_document(document)

    async def create_template(
        self, document: str, request_id: str, author: str = "", change_note: str = ""
    ) -> TemplateView:
        revisions.check_change_note(change_note)
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
                self._record_revision(session, row, author, change_note)
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
                metadata={"template": earlier.name, "request_id": request_id},
            )
        return self._view(earlier)

    async def get_template(self, template_id: str, revision: int = 0) -> TemplateView:
        """The template as it is now, or as it was at ``revision`` (0: the latest)."""
        revisions.check_revision(revision)
        async with self._reads() as session:
            row = await store.get_template(session=session, name=template_id)
            if row is None:
                raise NotFound(f"templates/{template_id} not found", metadata={"template": template_id})
            if not revision or revision == row.revision:
                return self._view(row)
            old = await store.get_template_revision(session=session, template=template_id, revision=revision)
        if old is None:
            raise NotFound(
                f"templates/{template_id} has no revision {revision} (latest is {row.revision})",
                metadata={"template": template_id, "revision": str(revision)},
            )
        return self._view(
            TemplateRow(
                name=row.name,
                description=row.description,
                document=old.document,
                revision=old.revision,
                etag=_template_etag(row.name, old.revision, old.document),
                builtin=row.builtin,
                request_id=None,
                create_time=row.create_time,
                update_time=old.create_time,
            )
        )

    async def list_template_revisions(
        self, template_id: str, requested_size: int, token: str
    ) -> tuple[list[TemplateRevisionRow], str]:
        """Revisions of a template, newest first, a page at a time."""
        size = page_size(requested_size)
        after = decode_token(token, template_id)
        before = int(after) if after is not None and after.isdigit() else None
        async with self._reads() as session:
            if await store.get_template(session=session, name=template_id) is None:
                raise NotFound(f"templates/{template_id} not found", metadata={"template": template_id})
            rows = list(
                await store.list_template_revisions(
                    session=session, template=template_id, before=before, limit=size + 1
                )
            )
        page = rows[:size]
        next_token = encode_token(str(page[-1].revision), template_id) if len(rows) > size else ""
        return page, next_token

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

    async def update_template(
        self, template_id: str, document: str, etag: str, author: str = "", change_note: str = ""
    ) -> TemplateView:
        revisions.check_change_note(change_note)
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
                raise etag_mismatch("templates", template_id)
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
                raise etag_mismatch("templates", template_id)
            await session.refresh(row)
            self._record_revision(session, row, author, change_note)
        return TemplateView(row, parsed.spec)

    async def delete_template(self, template_id: str, etag: str) -> None:
        async with self._sessions() as session, session.begin():
            row = await store.get_template(session=session, name=template_id)
            if row is None:
                raise NotFound(f"templates/{template_id} not found", metadata={"template": template_id})
            if etag and row.etag != etag:
                raise etag_mismatch("templates", template_id)
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
                raise etag_mismatch("templates", template_id)
            await store.delete_template_revisions(session=session, template=template_id)

    # -- validate and render ----------------------------------------------------------------------

    async def validate_parameters(self, template_id: str, parameters: Mapping[str, Any]) -> ParameterCheck:
        view = await self.get_template(template_id)
        return check_parameters(view.spec, parameters)

    async def render(
        self, template_id: str, parameters: Mapping[str, Any], context: RenderContext, revision: int = 0
    ) -> RenderedPlan:
        view = await self.get_template(template_id, revision)
        return render(view.spec, view.row.revision, parameters, context, self.defaults)

    async def export_template(self, template_id: str, proxy_path: str) -> dict[str, Any]:
        if proxy_path and not proxy_path.startswith("/"):
            raise InvalidArgument(
                "proxy_path must be an absolute path", [FieldViolation("proxy_path", "must start with '/'")]
            )
        view = await self.get_template(template_id)
        return backstage.software_template(view.spec, view.row.revision, self.links, proxy_path)
