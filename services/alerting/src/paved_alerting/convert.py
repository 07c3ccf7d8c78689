"""Protobuf ⇄ domain conversion for the alerting API."""

from __future__ import annotations

from google.protobuf import duration_pb2, timestamp_pb2
from paved.alerting.v1 import alerting_pb2 as pb

from paved_alerting.engine import AlertView, Health
from paved_alerting.evaluator import AlertState
from paved_alerting.receivers import Receiver, masked_url
from paved_alerting.rules import Operator, RuleDraft, RuleKind, Severity, StoredRule

OPERATORS: dict[int, Operator] = {
    pb.OPERATOR_GREATER_THAN: Operator.GREATER_THAN,
    pb.OPERATOR_GREATER_THAN_OR_EQUAL: Operator.GREATER_THAN_OR_EQUAL,
    pb.OPERATOR_LESS_THAN: Operator.LESS_THAN,
    pb.OPERATOR_LESS_THAN_OR_EQUAL: Operator.LESS_THAN_OR_EQUAL,
    pb.OPERATOR_EQUAL: Operator.EQUAL,
    pb.OPERATOR_NOT_EQUAL: Operator.NOT_EQUAL,
}
OPERATOR_PROTO = {operator: number for number, operator in OPERATORS.items()}
SEVERITIES: dict[int, Severity] = {
    pb.SEVERITY_CRITICAL: Severity.CRITICAL,
    pb.SEVERITY_WARNING: Severity.WARNING,
    pb.SEVERITY_INFO: Severity.INFO,
}
SEVERITY_PROTO = {severity: number for number, severity in SEVERITIES.items()}
STATE_PROTO = {
    AlertState.INACTIVE: pb.ALERT_STATE_INACTIVE,
    AlertState.PENDING: pb.ALERT_STATE_PENDING,
    AlertState.FIRING: pb.ALERT_STATE_FIRING,
    AlertState.RESOLVED: pb.ALERT_STATE_RESOLVED,
}
KIND_PROTO = {RuleKind.THRESHOLD: pb.RULE_KIND_THRESHOLD, RuleKind.ANOMALY: pb.RULE_KIND_ANOMALY}
HEALTH_PROTO = {
    "healthy": pb.HEALTH_STATUS_HEALTHY,
    "degraded": pb.HEALTH_STATUS_DEGRADED,
    "down": pb.HEALTH_STATUS_DOWN,
    "unknown": pb.HEALTH_STATUS_UNKNOWN,
}


def timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    """A Timestamp, or None for no time."""
    if seconds is None:
        return None
    whole = int(seconds // 1)
    return timestamp_pb2.Timestamp(seconds=whole, nanos=round((seconds - whole) * 1e9) % 1_000_000_000)


def seconds_of(value: timestamp_pb2.Timestamp) -> float:
    """Seconds since the epoch of a Timestamp."""
    return value.seconds + value.nanos / 1e9


def draft_from_proto(rule: pb.AlertRule) -> RuleDraft:
    """What a caller asked for; unset enums and messages become "not given"."""
    draft = RuleDraft(
        service=rule.service,
        environment=rule.environment,
        team=rule.team,
        display_name=rule.display_name,
        expression=rule.expression,
        severity=SEVERITIES.get(rule.severity),
        labels=dict(rule.labels),
        annotations=dict(rule.annotations),
        enabled=rule.enabled,
        kind=RuleKind.ANOMALY if rule.kind == pb.RULE_KIND_ANOMALY else RuleKind.THRESHOLD,
        sensitivity=rule.anomaly.sensitivity,
    )
    if rule.HasField("condition"):
        draft.metric = rule.condition.metric
        draft.operator = OPERATORS.get(rule.condition.operator)
        draft.threshold = rule.condition.threshold
    if rule.HasField("for_duration"):
        duration = rule.for_duration
        if duration.nanos % 1_000_000:
            draft.for_error = "must be whole milliseconds"
        elif duration.seconds < 0 or duration.nanos < 0:
            draft.for_error = "must not be negative"
        else:
            draft.for_ms = duration.seconds * 1000 + duration.nanos // 1_000_000
    return draft


def rule_to_proto(stored: StoredRule) -> pb.AlertRule:
    """The API form of a stored rule."""
    rule = stored.rule
    for_seconds, for_ms = divmod(rule.for_ms, 1000)
    return pb.AlertRule(
        name=rule.name,
        service=rule.service,
        environment=rule.environment,
        team=rule.team,
        display_name=rule.display_name,
        condition=pb.Condition(
            metric=rule.condition.metric,
            operator=OPERATOR_PROTO[rule.condition.operator],
            threshold=rule.condition.threshold,
        ),
        expression=rule.condition.expression,
        for_duration=duration_pb2.Duration(seconds=for_seconds, nanos=for_ms * 1_000_000),
        severity=SEVERITY_PROTO[rule.severity],
        labels=dict(rule.labels),
        annotations=dict(rule.annotations),
        enabled=rule.enabled,
        default_rule=rule.default_rule,
        kind=KIND_PROTO[rule.kind],
        anomaly=pb.AnomalySpec(sensitivity=rule.sensitivity) if rule.kind is RuleKind.ANOMALY else None,
        etag=stored.etag,
        create_time=timestamp(stored.create_time),
        update_time=timestamp(stored.update_time),
    )


def alert_to_proto(view: AlertView) -> pb.Alert:
    """The API form of an alert."""
    rule, status = view.rule, view.status
    alert = pb.Alert(
        name=f"{rule.name}/alerts/{view.fingerprint}",
        rule=rule.name,
        service=rule.service,
        environment=rule.environment,
        team=rule.team,
        state=STATE_PROTO[status.state],
        severity=SEVERITY_PROTO[rule.severity],
        active_time=timestamp(status.active_at),
        fire_time=timestamp(status.fired_at),
        resolve_time=timestamp(status.resolved_at),
        labels=rule.alert_labels(),
        annotations=view.annotations,
        fingerprint=view.fingerprint,
        display_name=rule.display_name,
    )
    if status.value is not None:
        alert.value = status.value
    return alert


def health_to_proto(health: Health) -> pb.ServiceHealth:
    """The API form of a service's health."""
    message = pb.ServiceHealth(
        service=health.service,
        environment=health.environment,
        status=HEALTH_PROTO[health.status],
        firing_alerts=[alert_to_proto(view) for view in health.firing],
        sample_time=timestamp(health.sample_time),
    )
    if health.requests_per_second is not None:
        message.requests_per_second = health.requests_per_second
    if health.error_rate is not None:
        message.error_rate = health.error_rate
    if health.latency_p99 is not None:
        message.latency_p99 = health.latency_p99
    return message


def receiver_to_proto(receiver: Receiver) -> pb.Receiver:
    """The API form of a receiver; credentials in its URL are masked."""
    return pb.Receiver(
        name=receiver.name,
        team=receiver.team,
        url=masked_url(receiver.url),
        send_resolved=receiver.send_resolved,
        create_time=timestamp(receiver.create_time),
    )
