"""The alerting service's core: samples, evaluation, alert states, health and export.

Rules and alert states are loaded into memory at start and kept in step with every change, so an
evaluation cycle touches the database only for the alerts that changed state. Like Prometheus, one
replica evaluates; its state is persisted so a restart resumes pending and firing alerts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from paved_kit.errors import FieldViolation, InvalidArgument, NotFound
from paved_kit.logging import get_logger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_alerting import export, store
from paved_alerting.clock import Clock
from paved_alerting.evaluator import AlertState, AlertStatus, Evaluator, Transition
from paved_alerting.filters import as_is, decode_token, encode_token, enum_value, page_size, parse_filter
from paved_alerting.mapping import alert_values, rule_from_row, status_from_row
from paved_alerting.notifications import rendered_annotations
from paved_alerting.outbox import NotificationQueue
from paved_alerting.prometheus_source import PrometheusSource
from paved_alerting.rules import DEFAULT_ENVIRONMENT, SERVICE_NAME, Rule, RuleKind, Severity
from paved_alerting.samples import IngestResult, SampleStore, SampleTuple

_log = get_logger(__name__)


class AnomalyWatchLike(Protocol):
    """What the engine needs of the anomaly watch (which itself needs the engine's evaluator)."""

    interval: float

    def due(self, now: float) -> bool: ...

    async def refresh(self, now: float | None = None) -> int: ...


HEALTH_METRICS = ("requests_per_second", "error_rate", "latency_p99", "up")
ALERT_FILTERS = {
    "service": as_is,
    "environment": as_is,
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
    environment: str
    status: str  # healthy, degraded, down, unknown
    requests_per_second: float | None
    error_rate: float | None
    latency_p99: float | None
    firing: list[AlertView]
    sample_time: float | None


class AlertingEngine:
    """Rules and alert states in memory, evaluated against the samples; persists what changes."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        samples: SampleStore,
        queue: NotificationQueue,
        *,
        prometheus: PrometheusSource | None = None,
        watch: AnomalyWatchLike | None = None,
    ) -> None:
        self._sessions = sessions
        self.clock = clock
        self.samples = samples
        self.evaluator = Evaluator(samples)
        self.queue = queue
        self._prometheus = prometheus
        self.watch = watch
        # Evaluation and rule changes both touch alert states; one at a time keeps them in order.
        self.lock = asyncio.Lock()

    async def load(self) -> None:
        """Read every rule and alert state into memory (start-up)."""
        async with self._sessions() as session:
            rules = [rule_from_row(row) for row in await store.all_rules(session=session)]
            statuses = [status_from_row(row) for row in await store.all_alerts(session=session)]
        self.evaluator.load(rules, statuses)
        _log.info("alerting state loaded", rules=len(rules), alerts=len(statuses))

    async def remove_rules(self, rule_ids: Sequence[str]) -> int:
        """Delete rules and their alert states; a firing alert is reported resolved. Returns how many."""
        async with self.lock:
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
                queued = await self.queue.enqueue(session, resolved, now, self.evaluator.fingerprint)
            for rule_id in rule_ids:
                self.evaluator.remove_rule(rule_id)
        if queued:
            self.queue.wake()
        return deleted

    # Samples and evaluation -------------------------------------------------------------------------

    def ingest(self, samples: Iterable[SampleTuple], result: IngestResult | None = None) -> IngestResult:
        """Store (service, metric, value, time[, environment]) samples; unknown metrics, non-finite values
        are rejected."""
        return self.samples.ingest(samples, result)

    async def evaluate(
        self, at: float | None = None, *, rescore: bool = False
    ) -> tuple[int, list[Transition]]:
        """One evaluation cycle at ``at`` (default: the clock's now); persists and notifies transitions.

        Anomaly rules are rescored first when their interval has passed (outside the lock: scoring a
        fleet takes a while, and rule changes need not wait for it); ``rescore`` rescores them anyway."""
        if self.watch is not None:
            moment = self.clock.now() if at is None else at
            if self.watch.interval > 0 and (rescore or self.watch.due(moment)):
                try:
                    await self.watch.refresh(moment)
                except Exception:
                    # Threshold rules must not wait on the history source: anomaly rules keep their last
                    # scores until the next refresh succeeds.
                    _log.warning("anomaly scoring failed; keeping the last scores", exc_info=True)
        async with self.lock:
            now = self.clock.now() if at is None else at
            if self._prometheus is not None:
                metrics = {
                    rule.condition.metric for rule in self.rules() if rule.kind is RuleKind.THRESHOLD
                } | set(HEALTH_METRICS)
                self.samples.ingest(await self._prometheus.fetch(metrics, now))
            transitions = self.evaluator.evaluate(now)
            notify = self.queue.with_resends(
                [t for t in transitions if t.notifies], now, self.evaluator.firing
            )
            queued = 0
            if transitions or notify:
                try:
                    async with self._sessions() as session, session.begin():
                        fingerprint = self.evaluator.fingerprint
                        rows = [alert_values(t, fingerprint(t.rule.rule_id)) for t in transitions]
                        await store.upsert_alerts(session=session, rows=rows)
                        queued = await self.queue.enqueue(session, notify, now, fingerprint)
                except BaseException:
                    # Unrecorded changes must not be forgotten: the next cycle finds them again.
                    self.evaluator.restore(transitions)
                    raise
        if queued:
            self.queue.wake()
        return len(self.evaluator), transitions

    def rules(self) -> list[Rule]:
        """Every loaded rule."""
        return [rule for rule_id in self.evaluator.rule_ids() if (rule := self.evaluator.rule(rule_id))]

    # Alerts and health ------------------------------------------------------------------------------

    def view_of(self, rule: Rule, status: AlertStatus) -> AlertView:
        """An alert of ``rule`` in ``status`` as callers see it."""
        return AlertView(
            rule,
            status,
            self.evaluator.fingerprint(rule.rule_id),
            rendered_annotations(rule, status.value, status.context),
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

    def health(self, service: str, environment: str = "") -> Health:
        """The health of a service in an environment (the default one when empty) now: unknown without
        data, down/degraded by the severity of that environment's firing alerts."""
        violations = []
        if not SERVICE_NAME.match(service):
            violations.append(FieldViolation("service", "required; a DNS-1123 label"))
        if environment and not SERVICE_NAME.match(environment):
            violations.append(FieldViolation("environment", "a DNS-1123 label, or empty for the default"))
        if violations:
            raise InvalidArgument("the health request is invalid", violations)
        environment = environment or DEFAULT_ENVIRONMENT
        now = self.clock.now()
        samples = self.samples
        values = {metric: samples.value_at(service, metric, now, environment) for metric in HEALTH_METRICS}
        any_data = any(value is not None for value in values.values()) or any(
            samples.value_at(service, metric, now, environment) is not None for metric in ("cpu", "memory")
        )
        firing = []
        for rule in self.evaluator.rules_of(service, environment):
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
            environment=environment,
            status=word,
            requests_per_second=values["requests_per_second"],
            error_rate=values["error_rate"],
            latency_p99=values["latency_p99"],
            firing=firing,
            sample_time=samples.newest_time(service, HEALTH_METRICS, environment) if any_data else None,
        )

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
        rules = self.evaluator.rules_of(service) if service else self.rules()
        if service and not rules:
            raise NotFound(f"service {service} has no alert rules", metadata={"service": service})
        if prometheus_rule:
            content = export.prometheus_rule(
                rules, name=export.object_name(service), namespace=namespace or "monitoring"
            )
        else:
            content = export.rule_file(rules)
        return content, export.assumed_metrics(rules)
