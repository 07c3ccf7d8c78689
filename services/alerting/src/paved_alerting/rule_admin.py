"""Alert rule administration: CRUD with validation, etags and idempotent creates, and the three defaults.

Every change is written to the database first and then applied to the engine's in-memory rules.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from paved_kit.errors import AlreadyExists, Code, FieldViolation, InvalidArgument, NotFound, PavedError
from paved_kit.logging import get_logger
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_alerting import store
from paved_alerting.catalog_facts import CatalogFacts, alert_facts
from paved_alerting.engine import AlertingEngine
from paved_alerting.filters import as_is, decode_token, encode_token, enum_value, page_size, parse_filter
from paved_alerting.mapping import apply_rule, new_rule_row, rule_from_row
from paved_alerting.models import AlertRuleRow
from paved_alerting.rules import (
    RULE_ID,
    SERVICE_NAME,
    TEAM_NAME,
    Rule,
    RuleDraft,
    StoredRule,
    apply_mask,
    build_rule,
    default_rule_drafts,
    draft_of,
)

_log = get_logger(__name__)

RULE_FILTERS = {
    "service": as_is,
    "environment": as_is,
    "team": as_is,
    "severity": enum_value("severity_", ("critical", "warning", "info")),
    "enabled": enum_value("", ("true", "false")),
    "default_rule": enum_value("", ("true", "false")),
}


class RuleAdmin:
    """The rule RPCs, kept in step with the engine that evaluates the rules."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        engine: AlertingEngine,
        facts: CatalogFacts | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self.facts = facts

    async def _report(self, service: str) -> None:
        """After a change is stored: tell the catalog whether the service's defaults are in place."""
        if self.facts is None or not self.facts.enabled:
            return
        try:
            async with self._sessions() as session:
                states = await store.rule_states_of_service(session=session, service=service)
        except Exception:
            # The change itself is done; a scorecard fact is not worth failing it for.
            _log.warning("could not read rules for the catalog facts", service_name=service, exc_info=True)
            return
        self.facts.report(service, alert_facts(service, states))

    async def create_rule(self, rule_id: str, draft: RuleDraft, request_id: str = "") -> StoredRule:
        """Create a rule; a repeated ``request_id`` returns the rule the first call made."""
        if rule_id and not RULE_ID.match(rule_id):
            raise InvalidArgument(
                "alert_rule_id is invalid",
                [
                    FieldViolation(
                        "alert_rule_id",
                        "lowercase letters, digits and '-', starting with a letter, at most 100",
                    )
                ],
            )
        if len(request_id) > 100:
            raise InvalidArgument(
                "request_id is invalid", [FieldViolation("request_id", "at most 100 characters")]
            )
        rule = build_rule(rule_id or f"{draft.service}-{uuid.uuid4().hex[:12]}", draft)
        now = self._engine.clock.now()
        try:
            async with self._sessions() as session, session.begin():
                if request_id:
                    existing = await store.get_rule_by_request_id(session=session, request_id=request_id)
                    if existing is not None:
                        return _stored(existing)
                if await store.get_rule(session=session, rule_id=rule.rule_id) is not None:
                    raise AlreadyExists(
                        f"alert rule {rule.name} already exists", metadata={"alert_rule": rule.name}
                    )
                row = new_rule_row(rule, etag=_etag(rule), request_id=request_id or None, now=now)
                await store.add_rule(session=session, row=row)
        except IntegrityError:
            # A concurrent create won: the same request (a retry) gets its rule, anything else a conflict.
            async with self._sessions() as session:
                first = await store.get_rule_by_request_id(session=session, request_id=request_id)
            if request_id and first is not None:
                return _stored(first)
            raise AlreadyExists(
                f"alert rule {rule.name} already exists", metadata={"alert_rule": rule.name}
            ) from None
        self._engine.evaluator.set_rule(rule)
        await self._report(rule.service)
        return _stored(row)

    async def get_rule(self, name: str, *, field: str = "name") -> StoredRule:
        """The rule called ``alertRules/{rule}``."""
        rule_id = _rule_id(name, field)
        async with self._sessions() as session:
            row = await store.get_rule(session=session, rule_id=rule_id)
        if row is None:
            raise NotFound(f"alert rule {name} not found", metadata={"alert_rule": name})
        return _stored(row)

    async def list_rules(self, filter_text: str, size: int, token: str) -> tuple[list[StoredRule], str]:
        """A page of rules matching an AIP-160 filter, and the next page token."""
        filters = parse_filter(filter_text, RULE_FILTERS)
        limit = page_size(size)
        after = decode_token(token, filter_text)
        async with self._sessions() as session:
            rows = await store.list_rules(session=session, filters=filters, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        next_token = encode_token(rows[-1].rule_id, filter_text) if more and rows else ""
        return [_stored(row) for row in rows], next_token

    async def update_rule(self, name: str, incoming: RuleDraft, paths: list[str], etag: str) -> StoredRule:
        """Change the fields an update mask names; a stale ``etag`` is refused."""
        rule_id = _rule_id(name, "alert_rule.name")
        async with self._engine.lock:
            async with self._sessions() as session, session.begin():
                row = await store.get_rule(session=session, rule_id=rule_id)
                if row is None:
                    raise NotFound(f"alert rule {name} not found", metadata={"alert_rule": name})
                if etag and etag != row.etag:
                    raise PavedError(
                        f"alert rule {name} changed since it was read; read it again",
                        code=Code.ABORTED,
                        reason="ETAG_MISMATCH",
                    )
                current = rule_from_row(row)
                merged = apply_mask(draft_of(current), incoming, paths)
                rule = build_rule(rule_id, merged, default_rule=current.default_rule)
                apply_rule(row, rule)
                row.etag = _etag(rule)
                row.update_time = self._engine.clock.now()
                await store.save_rule(session=session, row=row)
            self._engine.evaluator.set_rule(rule)
        await self._report(rule.service)
        return _stored(row)

    async def delete_rule(self, name: str) -> None:
        """Delete a rule; a firing alert of it is reported resolved."""
        rule_id = _rule_id(name, "name")
        async with self._sessions() as session:
            row = await store.get_rule(session=session, rule_id=rule_id)
        if row is None or await self._engine.remove_rules([rule_id]) == 0:
            raise NotFound(f"alert rule {name} not found", metadata={"alert_rule": name})
        await self._report(row.service)

    async def create_default_alerts(
        self, service: str, team: str, environment: str = ""
    ) -> tuple[list[StoredRule], int]:
        """The three default rules of a service in an environment (the default one when empty), creating
        the missing ones; also how many were new."""
        violations = []
        if not SERVICE_NAME.match(service):
            violations.append(
                FieldViolation("service", "required; a DNS-1123 label (lowercase letters, digits, '-')")
            )
        if environment and not SERVICE_NAME.match(environment):
            violations.append(FieldViolation("environment", "a DNS-1123 label, or empty for the default"))
        if not TEAM_NAME.match(team):
            violations.append(FieldViolation("team", "required; lowercase letters, digits, '-', '_' or '.'"))
        if violations:
            raise InvalidArgument("cannot create default alerts", violations)
        rules = [
            build_rule(rule_id, draft, default_rule=True)
            for rule_id, draft in default_rule_drafts(service, team, environment)
        ]
        for attempt in range(2):
            try:
                stored, created = await self._insert_missing(rules)
                break
            except IntegrityError:
                # A concurrent call (a retried provisioning step) inserted them first; read them now.
                if attempt:
                    raise
        for rule in created:
            self._engine.evaluator.set_rule(rule)
        await self._report(service)
        return stored, len(created)

    async def _insert_missing(self, rules: list[Rule]) -> tuple[list[StoredRule], list[Rule]]:
        now = self._engine.clock.now()
        created: list[Rule] = []
        async with self._sessions() as session, session.begin():
            existing = await store.rules_by_id(session=session, rule_ids=[rule.rule_id for rule in rules])
            rows = []
            for rule in rules:
                row = existing.get(rule.rule_id)
                if row is None:
                    row = new_rule_row(rule, etag=_etag(rule), request_id=None, now=now)
                    await store.add_rule(session=session, row=row)
                    created.append(rule)
                rows.append(row)
        return [_stored(row) for row in rows], created

    async def delete_service_alerts(self, service: str, environment: str = "") -> int:
        """Delete every rule of a service (of one of its environments when given); returns how many."""
        violations = []
        if not SERVICE_NAME.match(service):
            violations.append(FieldViolation("service", "required; a DNS-1123 label"))
        if environment and not SERVICE_NAME.match(environment):
            violations.append(FieldViolation("environment", "a DNS-1123 label, or empty for every one"))
        if violations:
            raise InvalidArgument("cannot delete the service's alerts", violations)
        async with self._sessions() as session:
            rule_ids = await store.rule_ids_of_service(
                session=session, service=service, environment=environment
            )
        deleted = await self._engine.remove_rules(rule_ids)
        # A deprovisioned service's samples would otherwise linger until restart.
        self._engine.samples.forget_service(service, environment)
        if deleted:
            await self._report(service)
        return deleted


def _rule_id(name: str, field: str) -> str:
    rule_id = name.removeprefix("alertRules/")
    if not name.startswith("alertRules/") or not RULE_ID.match(rule_id):
        raise InvalidArgument(
            "the rule name is invalid", [FieldViolation(field, "must be alertRules/{rule}")]
        )
    return rule_id


def _etag(rule: Rule) -> str:
    text = json.dumps(
        [
            rule.team,
            rule.display_name,
            rule.condition.expression,
            rule.for_ms,
            rule.severity.value,
            sorted(rule.labels.items()),
            sorted(rule.annotations.items()),
            rule.enabled,
        ],
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _stored(row: AlertRuleRow) -> StoredRule:
    return StoredRule(rule_from_row(row), row.etag, row.create_time, row.update_time)
