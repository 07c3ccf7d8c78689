"""Anomaly detection over the metric history: the live score anomaly rules compare, and the anomalies of a
past range (backfilled history scored the same way) with their likely causes.

The watched metrics are request rate, error rate, p99 latency and CPU, as hourly means of the series without
an environment label (the series rules see). Scoring is CPU work and runs in a worker thread, so the
service keeps answering while a large fleet is scored.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from paved_kit.errors import FieldViolation, InvalidArgument
from paved_kit.logging import get_logger

from paved_alerting.anomaly_sensitivity import SENSITIVITIES
from paved_alerting.change_log import ChangeLog, ChangesUnavailable
from paved_alerting.changes import Cause, Change, describe, likely_causes
from paved_alerting.clock import Clock
from paved_alerting.evaluator import Evaluator
from paved_alerting.hourly import HOUR, hour_start, regular, trimmed
from paved_alerting.metric_history import MetricHistory
from paved_alerting.metrics import METRICS
from paved_alerting.rules import DEFAULT_ENVIRONMENT, DEFAULT_SENSITIVITY, SERVICE_NAME, Rule, RuleKind

if TYPE_CHECKING:
    from paved_alerting import anomaly

_log = get_logger(__name__)
WATCHED = ("requests_per_second", "error_rate", "latency_p99", "cpu")
MAX_RANGE_DAYS = 90


@dataclass(frozen=True)
class FoundAnomaly:
    """An anomaly of one metric over ``[start, end)`` with its likely causes."""

    metric: str
    start: float
    end: float
    kind: str
    score: float
    causes: list[Cause]


@dataclass(frozen=True)
class AnomalyList:
    anomalies: list[FoundAnomaly]
    sensitivity: str
    causes_unavailable: str
    hours: int
    skipped: list[str]


def live_scores(
    series: dict[tuple[str, str], list[float]], threshold: float
) -> dict[str, tuple[float, str, int, str]]:
    """Per service: the largest last-hour score of its metrics, that metric, the hour index its anomaly
    started (or -1) and its kind."""
    best: dict[str, tuple[float, str, int, str]] = {}
    if not series:
        return best
    # Imported when there is something to score: it loads numpy (~50 ms of start-up), which a service with
    # no anomaly rules never needs.
    from paved_alerting import anomaly

    for (service, metric), values in series.items():
        try:
            scores = anomaly.score(values)
        except InvalidArgument:
            continue  # too little history yet
        found = anomaly.ongoing(scores, threshold)
        value = (
            found.score if found else round(float(max(abs(scores.residual[-1]), abs(scores.level[-1]))), 2)
        )
        if service not in best or value > best[service][0]:
            best[service] = (value, metric, found.start if found else -1, found.kind if found else "")
    return best


class AnomalyWatch:
    """Scores the services that have anomaly rules and hands the scores to the evaluator."""

    def __init__(
        self,
        history: MetricHistory,
        evaluator: Evaluator,
        clock: Clock,
        changes: ChangeLog,
        *,
        interval: float,
        history_days: float,
        cause_window: float,
    ) -> None:
        self._history = history
        self._evaluator = evaluator
        self._clock = clock
        self._changes = changes
        self.interval = interval
        self.hours = int(history_days * 24)
        self.cause_window = cause_window
        self.scored_at: float | None = None
        self._lock = asyncio.Lock()

    def due(self, now: float) -> bool:
        return self.interval > 0 and (self.scored_at is None or now - self.scored_at >= self.interval)

    async def refresh(self, now: float | None = None) -> int:
        """Score every service and environment with an enabled anomaly rule at ``now``; returns how many."""
        async with self._lock:
            now = self._clock.now() if now is None else now
            rules = [
                rule for rule in self._evaluator_rules() if rule.kind is RuleKind.ANOMALY and rule.enabled
            ]
            # The most sensitive rule of the fleet decides where an anomaly's run starts.
            threshold = min((rule.condition.threshold for rule in rules), default=math.inf)
            current = hour_start(now)
            first = current - HOUR * (self.hours - 1)
            series: dict[tuple[str, str], list[float]] = {}
            for environment in sorted({rule.environment for rule in rules}):
                services = sorted({rule.service for rule in rules if rule.environment == environment})
                means = await self._means(services, environment, first, current + HOUR)
                for (service, metric), by_hour in means.items():
                    values, start = trimmed(regular(by_hour, first, self.hours), first)
                    # A live score is of the latest hour: a series that stopped reporting is not scored.
                    if values and start + HOUR * (len(values) - 1) >= current - HOUR:
                        series[(f"{service}\n{environment}", metric)] = values
            best = await asyncio.to_thread(live_scores, series, threshold)
            scores: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
            for scope, (value, metric, start_index, kind) in best.items():
                service, environment = scope.split("\n")
                context: dict[str, str] = {}
                if start_index >= 0:
                    values = series[(scope, metric)]
                    started = current - HOUR * (len(values) - 1 - start_index)
                    context = {"anomaly_metric": metric, "anomaly_kind": kind}
                    context["likely_cause"] = await self._cause_text(service, environment, started)
                scores[(service, environment)] = (value, context)
            self._evaluator.anomaly_scores = scores
            self.scored_at = now
            return len(scores)

    async def _means(
        self, services: Sequence[str], environment: str, start: float, end: float
    ) -> dict[tuple[str, str], dict[int, float]]:
        """Hourly means of the watched metrics; the default environment's include the series sent
        without an environment label (the live samples' rule)."""
        means = await self._history.hourly_means(services, environment, WATCHED, start, end)
        if environment == DEFAULT_ENVIRONMENT:
            unlabelled = await self._history.hourly_means(services, "", WATCHED, start, end)
            for key, by_hour in unlabelled.items():
                means[key] = {**by_hour, **means.get(key, {})}
        return means

    def _evaluator_rules(self) -> list[Rule]:
        return [rule for rule_id in self._evaluator.rule_ids() if (rule := self._evaluator.rule(rule_id))]

    async def _cause_text(self, service: str, environment: str, started: float) -> str:
        try:
            changes = await self._changes.changes_of(service, started - self.cause_window)
        except ChangesUnavailable as err:
            return f"unknown: {err}"
        # A change elsewhere (another environment) is not this one's cause; unlabelled ones may be.
        changes = [c for c in changes if c.environment in (environment, "")]
        causes = likely_causes(changes, started, HOUR, self.cause_window)
        if not causes:
            return f"no change in the {self.cause_window / 3600:g} h before it"
        return "; ".join(describe(cause) for cause in causes)

    async def list_anomalies(
        self,
        service: str,
        environment: str,
        metric: str,
        start: float | None,
        end: float | None,
        sensitivity: str,
    ) -> AnomalyList:
        """The anomalies of ``[start, end)`` (default: the last ``history_days``), oldest first."""
        now = self._clock.now()
        end_time = end if end is not None else now
        start_time = start if start is not None else end_time - self.hours * HOUR
        chosen = sensitivity or self._rule_sensitivity(service)
        violations = []
        if not SERVICE_NAME.match(service):
            violations.append(FieldViolation("service", "required; a DNS-1123 label"))
        if environment and not SERVICE_NAME.match(environment):
            violations.append(FieldViolation("environment", "a DNS-1123 label, or empty"))
        if metric and metric not in METRICS:
            violations.append(
                FieldViolation("metric", f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
            )
        if chosen not in SENSITIVITIES:
            violations.append(FieldViolation("sensitivity", f"must be one of {', '.join(SENSITIVITIES)}"))
        if end_time <= start_time:
            violations.append(FieldViolation("end_time", "must be after start_time"))
        elif end_time - start_time > MAX_RANGE_DAYS * 86400:
            violations.append(
                FieldViolation("start_time", f"the range may span at most {MAX_RANGE_DAYS} days")
            )
        if violations:
            raise InvalidArgument("cannot list anomalies", violations)
        metrics: Sequence[str] = (metric,) if metric else WATCHED
        first = hour_start(start_time)
        hours = (hour_start(end_time - 1) - first) // HOUR + 1
        means = await self._history.hourly_means([service], environment, metrics, first, first + hours * HOUR)
        from paved_alerting import anomaly  # numpy, as in live_scores

        settings = anomaly.Settings(sensitivity=chosen)
        found: list[tuple[str, int, anomaly.Anomaly]] = []
        skipped: list[str] = []
        for name in metrics:
            values, series_start = trimmed(regular(means.get((service, name), {}), first, hours), first)
            try:
                detected = await asyncio.to_thread(anomaly.detect, values, settings)
            except InvalidArgument as err:
                reasons = "; ".join(v.description for v in err.field_violations)
                skipped.append(f"{name}: {reasons or err.message}")
                continue
            found.extend((name, series_start, item) for item in detected)
        changes: list[Change] = []
        unavailable = ""
        if found:
            earliest = min(series_start + HOUR * item.start for _, series_start, item in found)
            try:
                changes = await self._changes.changes_of(service, earliest - self.cause_window)
            except ChangesUnavailable as err:
                unavailable = str(err)
        anomalies = []
        for name, series_start, item in found:
            began = series_start + HOUR * item.start
            anomalies.append(
                FoundAnomaly(
                    metric=name,
                    start=began,
                    end=series_start + HOUR * (item.end + 1),
                    kind=item.kind,
                    score=item.score,
                    causes=likely_causes(changes, began, HOUR, self.cause_window),
                )
            )
        anomalies.sort(key=lambda a: (a.start, a.metric))
        return AnomalyList(anomalies, chosen, unavailable, hours, skipped)

    def _rule_sensitivity(self, service: str) -> str:
        for rule in self._evaluator.rules_of(service):
            if rule.kind is RuleKind.ANOMALY:
                return rule.sensitivity
        return DEFAULT_SENSITIVITY
