"""Rule evaluation with Prometheus' alert semantics: inactive → pending → firing → resolved.

A series without a sample in the lookback window has no value, and a condition over no value does not
hold (no data is not 0). The evaluator is pure and in memory; callers persist the transitions it returns.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from paved_alerting.fingerprint import fingerprint
from paved_alerting.rules import Rule, RuleKind
from paved_alerting.samples import SampleStore, SeriesKey


class AlertState(enum.StrEnum):
    """Where an alert is in its life."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(slots=True)
class AlertStatus:
    """The state of a rule's alert; times are seconds since the epoch."""

    rule_id: str
    state: AlertState = AlertState.INACTIVE
    value: float | None = None
    active_at: float | None = None
    fired_at: float | None = None
    resolved_at: float | None = None
    # What an anomaly alert found when it became active: metric, kind, likely cause (annotations).
    context: dict[str, str] | None = None


@dataclass(frozen=True)
class Transition:
    """An alert that changed state in an evaluation, with the rule it belongs to."""

    rule: Rule
    previous: AlertState
    status: AlertStatus
    before: AlertStatus | None = None

    @property
    def notifies(self) -> bool:
        """Whether receivers hear about it (they do about firing and resolved, not about pending)."""
        return self.status.state in (AlertState.FIRING, AlertState.RESOLVED)


class _Compiled:
    """A rule prepared for the hot loop: everything the evaluation needs one attribute away."""

    __slots__ = ("anomaly", "compare", "enabled", "for_seconds", "key", "rule", "status", "threshold")

    def __init__(self, rule: Rule, status: AlertStatus) -> None:
        self.rule = rule
        self.key: SeriesKey = (rule.service, rule.environment, rule.condition.metric)
        self.compare: Callable[[float, float], bool] = rule.condition.operator.compare
        self.threshold = rule.condition.threshold
        self.for_seconds = rule.for_ms / 1000.0
        self.enabled = rule.enabled
        self.status = status
        self.anomaly = rule.kind is RuleKind.ANOMALY


class Evaluator:
    """Holds the rules and their alert states and evaluates them against a sample store."""

    def __init__(self, samples: SampleStore) -> None:
        self.samples = samples
        self._compiled: dict[str, _Compiled] = {}
        self._order: list[_Compiled] = []
        self._by_service: dict[str, set[str]] = {}
        self._fingerprints: dict[str, str] = {}
        # Anomaly rules compare the latest score of their service and environment (set by the anomaly
        # watch), not a sample.
        self.anomaly_scores: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}

    def __len__(self) -> int:
        return len(self._compiled)

    def load(self, rules: Iterable[Rule], statuses: Iterable[AlertStatus] = ()) -> None:
        """Replace every rule and state (start-up)."""
        known = {status.rule_id: status for status in statuses}
        self._compiled.clear()
        self._by_service.clear()
        self._fingerprints.clear()
        for rule in rules:
            self._put(rule, known.get(rule.rule_id) or AlertStatus(rule.rule_id))
        self._order = list(self._compiled.values())

    def set_rule(self, rule: Rule) -> None:
        """Add or replace a rule; an existing rule keeps its alert state."""
        existing = self._compiled.get(rule.rule_id)
        self._put(rule, existing.status if existing else AlertStatus(rule.rule_id))
        self._order = list(self._compiled.values())

    def remove_rule(self, rule_id: str) -> AlertStatus | None:
        """Forget a rule; returns its last state."""
        compiled = self._compiled.pop(rule_id, None)
        if compiled is None:
            return None
        self._by_service.get(compiled.rule.service, set()).discard(rule_id)
        self._fingerprints.pop(rule_id, None)
        self._order = list(self._compiled.values())
        return compiled.status

    def _put(self, rule: Rule, status: AlertStatus) -> None:
        old = self._compiled.get(rule.rule_id)
        if old is not None and old.rule.service != rule.service:
            self._by_service.get(old.rule.service, set()).discard(rule.rule_id)
        self._compiled[rule.rule_id] = _Compiled(rule, status)
        self._by_service.setdefault(rule.service, set()).add(rule.rule_id)
        self._fingerprints[rule.rule_id] = fingerprint(rule.alert_labels())

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with that id, if loaded."""
        compiled = self._compiled.get(rule_id)
        return compiled.rule if compiled else None

    def status(self, rule_id: str) -> AlertStatus | None:
        """The alert state of a rule."""
        compiled = self._compiled.get(rule_id)
        return compiled.status if compiled else None

    def fingerprint(self, rule_id: str) -> str:
        """The fingerprint of the rule's alert labels."""
        return self._fingerprints[rule_id]

    def restore(self, transitions: list[Transition]) -> None:
        """Undo the state changes of ``transitions`` (they could not be persisted), so the next
        evaluation finds and reports them again."""
        for transition in transitions:
            compiled = self._compiled.get(transition.rule.rule_id)
            before = transition.before
            if compiled is None or before is None:
                continue
            status = compiled.status
            status.state, status.active_at = before.state, before.active_at
            status.fired_at, status.resolved_at = before.fired_at, before.resolved_at

    def rule_ids(self) -> list[str]:
        """Ids of every loaded rule."""
        return list(self._compiled)

    def firing(self) -> list[tuple[Rule, AlertStatus]]:
        """Every firing alert with its rule."""
        firing = AlertState.FIRING
        return [(c.rule, c.status) for c in self._order if c.status.state is firing]

    def rules_of(self, service: str, environment: str | None = None) -> list[Rule]:
        """Rules watching ``service`` (in ``environment`` when given)."""
        rules = [self._compiled[rule_id].rule for rule_id in sorted(self._by_service.get(service, ()))]
        return rules if environment is None else [r for r in rules if r.environment == environment]

    def evaluate(self, now: float) -> list[Transition]:
        """One evaluation cycle at ``now``; returns the alerts whose state changed."""
        transitions: list[Transition] = []
        series_map = self.samples.series
        lookback = self.samples.lookback
        pending, firing = AlertState.PENDING, AlertState.FIRING
        scores = self.anomaly_scores
        for compiled in self._order:
            status = compiled.status
            context = None
            if compiled.anomaly:
                found = scores.get((compiled.rule.service, compiled.rule.environment))
                value, context = found if found is not None else (None, None)
            else:
                series = series_map.get(compiled.key)
                value = series.value_at(now, lookback) if series is not None else None
            status.value = value
            state = status.state
            if value is not None and compiled.enabled and compiled.compare(value, compiled.threshold):
                if state is firing:
                    continue
                before = replace(status)
                if state is not pending:
                    status.state, status.active_at, status.resolved_at = pending, now, None
                    status.context = context
                    if compiled.for_seconds > 0:
                        transitions.append(Transition(compiled.rule, state, replace(status), before))
                        continue
                # The whole `for` must have passed, measured from the first evaluation that saw it hold.
                assert status.active_at is not None
                if now - status.active_at >= compiled.for_seconds:
                    status.state, status.fired_at = firing, now
                    transitions.append(Transition(compiled.rule, state, replace(status), before))
            elif state is pending:
                before = replace(status)
                status.state, status.active_at, status.context = AlertState.INACTIVE, None, None
                transitions.append(Transition(compiled.rule, state, replace(status), before))
            elif state is firing:
                before = replace(status)
                status.state, status.resolved_at = AlertState.RESOLVED, now
                transitions.append(Transition(compiled.rule, state, replace(status), before))
        return transitions
