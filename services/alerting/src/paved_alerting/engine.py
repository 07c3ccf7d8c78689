"""The alerting service's core: rules, samples, evaluation, notifications and health, over one database.

Rules and alert states are loaded into memory at start and kept in step with every change, so an
evaluation cycle touches the database only for the alerts that changed state. Like Prometheus, one
replica evaluates; its state is persisted so a restart resumes pending and firing alerts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from paved_kit.errors import AlreadyExists, Code, FieldViolation, InvalidArgument, NotFound, PavedError
from paved_kit.logging import get_logger
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_alerting import export, store
from paved_alerting.clock import Clock
from paved_alerting.delivery import Dispatcher
from paved_alerting.evaluator import AlertState, AlertStatus, Evaluator, Transition
from paved_alerting.filters import as_is, decode_token, encode_token, enum_value, page_size, parse_filter
from paved_alerting.mapping import alert_values, apply_rule, new_rule_row, rule_from_row, status_from_row
from paved_alerting.models import AlertRuleRow, OutboxRow, ReceiverRow
from paved_alerting.notifications import (
    ReceiverTarget,
    alertmanager_alerts,
    rendered_annotations,
    route,
    snapshot,
    webhook_payload,
)
from paved_alerting.prometheus_source import PrometheusSource
from paved_alerting.receivers import Receiver, validate_receiver
from paved_alerting.rules import (
    RULE_ID,
    SERVICE_NAME,
    TEAM_NAME,
    Rule,
    RuleDraft,
    Severity,
    StoredRule,
    apply_mask,
    build_rule,
    default_rule_drafts,
    draft_of,
)
from paved_alerting.samples import IngestResult, SampleStore

_log = get_logger(__name__)

HEALTH_METRICS = ("requests_per_second", "error_rate", "latency_p99", "up")
DEFAULT_CONFIG_RECEIVER = "default"
RULE_FILTERS = {
    "service": as_is,
    "team": as_is,
    "severity": enum_value("severity_", ("critical", "warning", "info")),
    "enabled": enum_value("", ("true", "false")),
    "default_rule": enum_value("", ("true", "false")),
}
ALERT_FILTERS = {
    "service": as_is,
    "team": as_is,
    "severity": enum_value("severity_", ("critical", "warning", "info")),
    "state": enum_value("alert_state_", ("inactive", "pending", "firing", "resolved")),
}


@dataclass(frozen=True)
class AlertView:
    """An alert as callers see it."""

    rule: Rule
    status: AlertStatus
    fingerprint: str
    annotations: dict[str, str]


@dataclass(frozen=True)
class Health:
    """A service's health: status word, current metrics and firing alerts."""

    service: str
    status: str  # healthy, degraded, down, unknown
    requests_per_second: float | None
    error_rate: float | None
    latency_p99: float | None
    firing: list[AlertView]
    sample_time: float | None


@dataclass(frozen=True)
class Notifier:
    """Where notifications go besides the receivers table."""

    external_url: str
    alertmanager_url: str | None = None
    default_webhook_url: str | None = None
    resend_seconds: float = 60.0


class AlertingEngine:
    """Everything the alerting RPCs do; the servicer only converts to and from protobuf."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        samples: SampleStore,
        notifier: Notifier,
        *,
        dispatcher: Dispatcher | None = None,
        prometheus: PrometheusSource | None = None,
    ) -> None:
        self._sessions = sessions
        self.clock = clock
        self.samples = samples
        self.evaluator = Evaluator(samples)
        self._notifier = notifier
        self._dispatcher = dispatcher
        self._prometheus = prometheus
        # Evaluation and rule removal both write alert states; one at a time keeps them in order.
        self._lock = asyncio.Lock()
        self._last_sent: dict[str, float] = {}

    async def load(self) -> None:
        """Read every rule and alert state into memory (start-up)."""
        async with self._sessions() as session:
            rules = [rule_from_row(row) for row in await store.all_rules(session=session)]
            statuses = [status_from_row(row) for row in await store.all_alerts(session=session)]
        self.evaluator.load(rules, statuses)
        _log.info("alerting state loaded", rules=len(rules), alerts=len(statuses))

    # Rules ------------------------------------------------------------------------------------------

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
        now = self.clock.now()
        try:
            async with self._sessions() as session, session.begin():
                if request_id:
                    existing = await store.get_rule_by_request_id(session=session, request_id=request_id)
                    if existing is not None:
                        return _stored(existing)
                if await store.get_rule(session=session, rule_id=rule.rule_id) is not None:
                    raise AlreadyExists(f"alert rule {rule.name} already exists")
                row = new_rule_row(rule, etag=_etag(rule), request_id=request_id or None, now=now)
                await store.add_rule(session=session, row=row)
        except IntegrityError:
            # A concurrent create won: the same request (a retry) gets its rule, anything else a conflict.
            async with self._sessions() as session:
                first = await store.get_rule_by_request_id(session=session, request_id=request_id)
            if request_id and first is not None:
                return _stored(first)
            raise AlreadyExists(f"alert rule {rule.name} already exists") from None
        self.evaluator.set_rule(rule)
        return _stored(row)

    async def get_rule(self, name: str, *, field: str = "name") -> StoredRule:
        """The rule called ``alertRules/{rule}``."""
        rule_id = _rule_id(name, field)
        async with self._sessions() as session:
            row = await store.get_rule(session=session, rule_id=rule_id)
        if row is None:
            raise NotFound(f"alert rule {name} not found")
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
        async with self._lock:
            async with self._sessions() as session, session.begin():
                row = await store.get_rule(session=session, rule_id=rule_id)
                if row is None:
                    raise NotFound(f"alert rule {name} not found")
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
                row.update_time = self.clock.now()
                await store.save_rule(session=session, row=row)
            self.evaluator.set_rule(rule)
        return _stored(row)

    async def delete_rule(self, name: str) -> None:
        """Delete a rule; a firing alert of it is reported resolved."""
        rule_id = _rule_id(name, "name")
        if await self._delete_rules([rule_id]) == 0:
            raise NotFound(f"alert rule {name} not found")

    async def create_default_alerts(self, service: str, team: str) -> tuple[list[StoredRule], int]:
        """The three default rules of a service, creating the missing ones; also how many were new."""
        violations = []
        if not SERVICE_NAME.match(service):
            violations.append(
                FieldViolation("service", "required; a DNS-1123 label (lowercase letters, digits, '-')")
            )
        if not TEAM_NAME.match(team):
            violations.append(FieldViolation("team", "required; lowercase letters, digits, '-', '_' or '.'"))
        if violations:
            raise InvalidArgument("cannot create default alerts", violations)
        rules = [
            build_rule(rule_id, draft, default_rule=True)
            for rule_id, draft in default_rule_drafts(service, team)
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
            self.evaluator.set_rule(rule)
        return stored, len(created)

    async def _insert_missing(self, rules: list[Rule]) -> tuple[list[StoredRule], list[Rule]]:
        now = self.clock.now()
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

    async def delete_service_alerts(self, service: str) -> int:
        """Delete every rule of a service; returns how many."""
        if not SERVICE_NAME.match(service):
            raise InvalidArgument(
                "service is invalid", [FieldViolation("service", "required; a DNS-1123 label")]
            )
        async with self._sessions() as session:
            rule_ids = await store.rule_ids_of_service(session=session, service=service)
        return await self._delete_rules(rule_ids)

    async def _delete_rules(self, rule_ids: Sequence[str]) -> int:
        async with self._lock:
            resolved: list[Transition] = []
            now = self.clock.now()
            for rule_id in rule_ids:
                rule, status = self.evaluator.rule(rule_id), self.evaluator.status(rule_id)
                if rule is not None and status is not None and status.state is AlertState.FIRING:
                    ended = AlertStatus(
                        rule_id, AlertState.RESOLVED, status.value, status.active_at, status.fired_at, now
                    )
                    resolved.append(Transition(rule, AlertState.FIRING, ended))
            async with self._sessions() as session, session.begin():
                deleted = await store.delete_rules(session=session, rule_ids=list(rule_ids))
                queued = await self._enqueue(session, resolved, now)
            for rule_id in rule_ids:
                self.evaluator.remove_rule(rule_id)
        if queued:
            self._wake()
        return deleted

    # Samples and evaluation -------------------------------------------------------------------------

    def ingest(
        self, samples: Iterable[tuple[str, str, float, float]], result: IngestResult | None = None
    ) -> IngestResult:
        """Store (service, metric, value, time) samples; unknown metrics, non-finite values are rejected."""
        return self.samples.ingest(samples, result)

    async def evaluate(self, at: float | None = None) -> tuple[int, list[Transition]]:
        """One evaluation cycle at ``at`` (default: the clock's now); persists and notifies transitions."""
        async with self._lock:
            now = self.clock.now() if at is None else at
            if self._prometheus is not None:
                metrics = {rule.condition.metric for rule in self._rules()} | set(HEALTH_METRICS)
                self.samples.ingest(await self._prometheus.fetch(metrics, now))
            transitions = self.evaluator.evaluate(now)
            notify = [t for t in transitions if t.notifies]
            if self._notifier.alertmanager_url:
                notify = self._with_resends(notify, now)
            queued = 0
            if transitions or notify:
                async with self._sessions() as session, session.begin():
                    await store.upsert_alerts(
                        session=session,
                        rows=[
                            alert_values(t, self.evaluator.fingerprint(t.rule.rule_id)) for t in transitions
                        ],
                    )
                    queued = await self._enqueue(session, notify, now)
        if queued:
            self._wake()
        return len(self.evaluator), transitions

    def _with_resends(self, notify: list[Transition], now: float) -> list[Transition]:
        # Alertmanager forgets an alert that is not re-sent before its endsAt, so, as Prometheus does,
        # firing alerts are sent again every resend interval, each time valid for a few more intervals.
        resend = self._notifier.resend_seconds
        changed = {t.rule.rule_id for t in notify}
        for t in notify:
            if t.status.state is AlertState.RESOLVED:
                self._last_sent.pop(t.rule.rule_id, None)
            else:
                self._last_sent[t.rule.rule_id] = now
        again = []
        for rule, status in self.evaluator.firing():
            if rule.rule_id not in changed and now - self._last_sent.get(rule.rule_id, -math.inf) >= resend:
                self._last_sent[rule.rule_id] = now
                again.append(Transition(rule, AlertState.FIRING, replace(status)))
        return notify + again

    def _rules(self) -> list[Rule]:
        return [rule for rule_id in self.evaluator.rule_ids() if (rule := self.evaluator.rule(rule_id))]

    async def _enqueue(self, session: AsyncSession, transitions: Sequence[Transition], now: float) -> int:
        if not transitions:
            return 0
        external = self._notifier.external_url
        snapshots = [
            (t.rule.team, snapshot(t.rule, t.status, self.evaluator.fingerprint(t.rule.rule_id), external))
            for t in transitions
        ]
        rows: list[OutboxRow] = []
        if self._notifier.alertmanager_url:
            url = f"{self._notifier.alertmanager_url}/api/v2/alerts"
            valid_until = now + 4 * self._notifier.resend_seconds
            body = json.dumps(alertmanager_alerts([alert for _, alert in snapshots], valid_until))
            rows.append(_outbox("alertmanager", "alertmanager", url, body))
        else:
            receivers = await self._targets(session)
            for team, alert in snapshots:
                for target in route(team, receivers):
                    if alert.status == "resolved" and not target.send_resolved:
                        continue
                    body = json.dumps(webhook_payload(target.name, [alert], external))
                    rows.append(_outbox(target.name, "webhook", target.url, body))
        await store.enqueue(session=session, rows=rows)
        return len(rows)

    async def _targets(self, session: AsyncSession) -> list[ReceiverTarget]:
        rows = await store.list_receivers(session=session, after=None, limit=None)
        targets = [ReceiverTarget(row.receiver_id, row.team, row.url, row.send_resolved) for row in rows]
        if self._notifier.default_webhook_url:
            targets.append(ReceiverTarget(DEFAULT_CONFIG_RECEIVER, "", self._notifier.default_webhook_url))
        return targets

    def _wake(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.wake()

    # Alerts and health ------------------------------------------------------------------------------

    def view_of(self, rule: Rule, status: AlertStatus) -> AlertView:
        """An alert of ``rule`` in ``status`` as callers see it."""
        return AlertView(
            rule, status, self.evaluator.fingerprint(rule.rule_id), rendered_annotations(rule, status.value)
        )

    async def list_alerts(self, filter_text: str, size: int, token: str) -> tuple[list[AlertView], str]:
        """A page of alerts (rules that have been active at least once) matching the filter."""
        filters = parse_filter(filter_text, ALERT_FILTERS)
        limit = page_size(size)
        after = decode_token(token, filter_text)
        async with self._sessions() as session:
            rows = await store.list_alerts(session=session, filters=filters, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        views = []
        for row in rows:
            rule = self.evaluator.rule(row.rule_id)
            if rule is not None:
                # The persisted state as of its last transition, with the latest evaluated value.
                status = status_from_row(row)
                live = self.evaluator.status(row.rule_id)
                if live is not None:
                    status.value = live.value
                views.append(self.view_of(rule, status))
        next_token = encode_token(rows[-1].rule_id, filter_text) if more and rows else ""
        return views, next_token

    def health(self, service: str) -> Health:
        """The health of a service now: unknown without data, down/degraded by the firing alerts' severity."""
        if not SERVICE_NAME.match(service):
            raise InvalidArgument(
                "service is invalid", [FieldViolation("service", "required; a DNS-1123 label")]
            )
        now = self.clock.now()
        values = {metric: self.samples.value_at(service, metric, now) for metric in HEALTH_METRICS}
        any_data = any(value is not None for value in values.values()) or any(
            self.samples.value_at(service, metric, now) is not None for metric in ("cpu", "memory")
        )
        firing = []
        for rule in self.evaluator.rules_of(service):
            status = self.evaluator.status(rule.rule_id)
            if status is not None and status.state is AlertState.FIRING:
                firing.append(self.view_of(rule, status))
        severities = {view.rule.severity for view in firing}
        if not any_data:
            word = "unknown"
        elif Severity.CRITICAL in severities:
            word = "down"
        elif Severity.WARNING in severities:
            word = "degraded"
        else:
            word = "healthy"
        return Health(
            service=service,
            status=word,
            requests_per_second=values["requests_per_second"],
            error_rate=values["error_rate"],
            latency_p99=values["latency_p99"],
            firing=firing,
            sample_time=self.samples.newest_time(service, HEALTH_METRICS) if any_data else None,
        )

    # Receivers --------------------------------------------------------------------------------------

    async def create_receiver(self, receiver_id: str, team: str, url: str, send_resolved: bool) -> Receiver:
        """Create a webhook receiver."""
        validate_receiver(receiver_id, team, url)
        row = ReceiverRow(
            receiver_id=receiver_id,
            team=team,
            url=url,
            send_resolved=send_resolved,
            create_time=self.clock.now(),
        )
        try:
            async with self._sessions() as session, session.begin():
                if await store.get_receiver(session=session, receiver_id=receiver_id) is not None:
                    raise AlreadyExists(f"receiver receivers/{receiver_id} already exists")
                await store.add_receiver(session=session, row=row)
        except IntegrityError:
            raise AlreadyExists(f"receiver receivers/{receiver_id} already exists") from None
        return _receiver(row)

    async def list_receivers(self, size: int, token: str) -> tuple[list[Receiver], str]:
        """A page of receivers."""
        limit = page_size(size)
        after = decode_token(token, "")
        async with self._sessions() as session:
            rows = await store.list_receivers(session=session, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return [_receiver(row) for row in rows], (
            encode_token(rows[-1].receiver_id, "") if more and rows else ""
        )

    async def delete_receiver(self, name: str) -> None:
        """Delete a receiver."""
        receiver_id = name.removeprefix("receivers/")
        if not name.startswith("receivers/") or not receiver_id:
            raise InvalidArgument("name is invalid", [FieldViolation("name", "must be receivers/{receiver}")])
        async with self._sessions() as session, session.begin():
            if not await store.delete_receiver(session=session, receiver_id=receiver_id):
                raise NotFound(f"receiver {name} not found")

    # Export -----------------------------------------------------------------------------------------

    def export(self, service: str, prometheus_rule: bool, namespace: str) -> tuple[str, list[str]]:
        """The rules of ``service`` (all when empty) as YAML, and the metric names the PromQL assumes."""
        violations = []
        if service and not SERVICE_NAME.match(service):
            violations.append(FieldViolation("service", "a DNS-1123 label, or empty for every service"))
        if namespace and not SERVICE_NAME.match(namespace):
            violations.append(FieldViolation("namespace", "a DNS-1123 label"))
        if violations:
            raise InvalidArgument("cannot export", violations)
        rules = self.evaluator.rules_of(service) if service else self._rules()
        if service and not rules:
            raise NotFound(f"service {service} has no alert rules")
        if prometheus_rule:
            content = export.prometheus_rule(
                rules, name=export.object_name(service), namespace=namespace or "monitoring"
            )
        else:
            content = export.rule_file(rules)
        return content, export.assumed_metrics(rules)


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


def _receiver(row: ReceiverRow) -> Receiver:
    return Receiver(row.receiver_id, row.team, row.url, row.send_resolved, row.create_time)


def _outbox(receiver: str, kind: str, url: str, payload: str) -> OutboxRow:
    # Delivery runs on the wall clock, not the evaluation clock: retries are about the real receiver.
    now = time.time()
    return OutboxRow(
        receiver=receiver, kind=kind, url=url, payload=payload, next_attempt_at=now, create_time=now
    )
