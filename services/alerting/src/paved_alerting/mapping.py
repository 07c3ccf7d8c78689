"""Table rows ⇄ domain objects (rules, alert states)."""

from __future__ import annotations

from typing import Any

from paved_alerting.evaluator import AlertState, AlertStatus, Transition
from paved_alerting.models import AlertRow, AlertRuleRow
from paved_alerting.notifications import CONTEXT_ANNOTATIONS, rendered_annotations
from paved_alerting.rules import Condition, Operator, Rule, RuleKind, Severity


def rule_from_row(row: AlertRuleRow) -> Rule:
    """The domain rule a row stores."""
    return Rule(
        rule_id=row.rule_id,
        service=row.service,
        team=row.team,
        display_name=row.display_name,
        condition=Condition(row.metric, Operator(row.operator), row.threshold),
        for_ms=row.for_ms,
        severity=Severity(row.severity),
        labels=dict(row.labels),
        annotations=dict(row.annotations),
        enabled=row.enabled,
        default_rule=row.default_rule,
        environment=row.environment,
        kind=RuleKind(row.kind or RuleKind.THRESHOLD),
        sensitivity=row.sensitivity or "",
    )


def apply_rule(row: AlertRuleRow, rule: Rule) -> None:
    """Copy a rule's fields onto its row."""
    row.service = rule.service
    row.environment = rule.environment
    row.team = rule.team
    row.display_name = rule.display_name
    row.metric = rule.condition.metric
    row.operator = rule.condition.operator.value
    row.threshold = rule.condition.threshold
    row.for_ms = rule.for_ms
    row.severity = rule.severity.value
    row.labels = dict(rule.labels)
    row.annotations = dict(rule.annotations)
    row.enabled = rule.enabled
    row.default_rule = rule.default_rule
    row.kind = rule.kind.value
    row.sensitivity = rule.sensitivity


def new_rule_row(rule: Rule, *, etag: str, request_id: str | None, now: float) -> AlertRuleRow:
    """A row for a new rule."""
    row = AlertRuleRow(
        rule_id=rule.rule_id,
        service=rule.service,
        team=rule.team,
        display_name=rule.display_name,
        metric=rule.condition.metric,
        operator=rule.condition.operator.value,
        threshold=rule.condition.threshold,
        for_ms=rule.for_ms,
        severity=rule.severity.value,
        etag=etag,
        request_id=request_id,
        create_time=now,
        update_time=now,
    )
    apply_rule(row, rule)
    return row


def status_from_row(row: AlertRow) -> AlertStatus:
    """The alert state a row stores (with the anomaly details its annotations recorded)."""
    context = {key: row.annotations[key] for key in CONTEXT_ANNOTATIONS if key in row.annotations}
    return AlertStatus(
        rule_id=row.rule_id,
        state=AlertState(row.state),
        value=row.value,
        active_at=row.active_at,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at,
        context=context or None,
    )


def alert_values(transition: Transition, fingerprint: str) -> dict[str, Any]:
    """The alert row of a transition, as column values for an upsert."""
    rule, status = transition.rule, transition.status
    return {
        "rule_id": rule.rule_id,
        "service": rule.service,
        "environment": rule.environment,
        "team": rule.team,
        "severity": rule.severity.value,
        "state": status.state.value,
        "display_name": rule.display_name,
        "value": status.value,
        "active_at": status.active_at,
        "fired_at": status.fired_at,
        "resolved_at": status.resolved_at,
        "fingerprint": fingerprint,
        "labels": rule.alert_labels(),
        "annotations": rendered_annotations(rule, status.value, status.context),
    }
