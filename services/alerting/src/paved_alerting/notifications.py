"""Notification payloads (Alertmanager's webhook JSON version 4, its v2 API alerts) and routing by team."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from paved_alerting.evaluator import AlertState, AlertStatus
from paved_alerting.rules import Rule
from paved_alerting.templates import render

# Alertmanager sends this for the end of an alert that has not ended.
ZERO_TIME = "0001-01-01T00:00:00Z"
GROUP_BY = ("alertname", "service")


@dataclass(frozen=True)
class ReceiverTarget:
    """Where a notification goes: a receiver's name, URL and whether it wants resolved alerts."""

    name: str
    team: str
    url: str
    send_resolved: bool = True


@dataclass(frozen=True)
class AlertSnapshot:
    """One alert as notifications describe it."""

    status: str  # "firing" or "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    ends_at: float | None
    generator_url: str
    fingerprint: str


def rfc3339(seconds: float) -> str:
    """A time as Go's JSON encoding writes it (RFC 3339, UTC, no trailing zero fraction)."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


# Annotations an alert's state adds to its rule's (an anomaly's metric, kind and likely cause).
CONTEXT_ANNOTATIONS = ("anomaly_metric", "anomaly_kind", "likely_cause")


def rendered_annotations(
    rule: Rule, value: float | None, context: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The rule's annotations with ``$labels`` and ``$value`` filled in, and what the alert's state adds."""
    labels = rule.alert_labels()
    rendered = {key: render(text, labels, value) for key, text in rule.annotations.items()}
    if context:
        rendered.update(context)
    return rendered


def snapshot(rule: Rule, status: AlertStatus, fingerprint: str, external_url: str) -> AlertSnapshot:
    """The alert of ``rule`` in ``status`` (firing or resolved) for a notification."""
    resolved = status.state is AlertState.RESOLVED
    starts_at = status.fired_at or status.active_at or 0.0
    return AlertSnapshot(
        status="resolved" if resolved else "firing",
        labels=rule.alert_labels(),
        annotations=rendered_annotations(rule, status.value, status.context),
        starts_at=starts_at,
        ends_at=status.resolved_at if resolved else None,
        generator_url=f"{external_url.rstrip('/')}/{rule.name}",
        fingerprint=fingerprint,
    )


def _label_set(labels: Mapping[str, str]) -> str:
    # Alertmanager's LabelSet.String(): sorted, `name="value"`, comma and space separated.
    pairs = ", ".join(f'{name}="{labels[name]}"' for name in sorted(labels))
    return "{" + pairs + "}"


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    common = dict(maps[0])
    for other in maps[1:]:
        common = {key: value for key, value in common.items() if other.get(key) == value}
    return common


def webhook_payload(receiver: str, alerts: Sequence[AlertSnapshot], external_url: str) -> dict[str, Any]:
    """The body Alertmanager POSTs to a webhook receiver for one group of alerts."""
    group_labels = {name: alerts[0].labels[name] for name in GROUP_BY if name in alerts[0].labels}
    return {
        "version": "4",
        "groupKey": "{}:" + _label_set(group_labels),
        "truncatedAlerts": 0,
        "status": "firing" if any(alert.status == "firing" for alert in alerts) else "resolved",
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": _common([alert.labels for alert in alerts]),
        "commonAnnotations": _common([alert.annotations for alert in alerts]),
        "externalURL": external_url,
        "alerts": [
            {
                "status": alert.status,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "startsAt": rfc3339(alert.starts_at),
                "endsAt": rfc3339(alert.ends_at) if alert.ends_at is not None else ZERO_TIME,
                "generatorURL": alert.generator_url,
                "fingerprint": alert.fingerprint,
            }
            for alert in alerts
        ],
    }


def alertmanager_alerts(alerts: Sequence[AlertSnapshot], valid_until: float) -> list[dict[str, Any]]:
    """The body of ``POST /api/v2/alerts`` (Alertmanager's postableAlerts); a firing alert ends at
    ``valid_until`` unless it is sent again before."""
    body = []
    for alert in alerts:
        item: dict[str, Any] = {
            "labels": alert.labels,
            "annotations": alert.annotations,
            "startsAt": rfc3339(alert.starts_at),
            "generatorURL": alert.generator_url,
        }
        item["endsAt"] = rfc3339(alert.ends_at if alert.ends_at is not None else valid_until)
        body.append(item)
    return body


def route(team: str, receivers: Sequence[ReceiverTarget]) -> list[ReceiverTarget]:
    """The receivers of a team's alerts: the team's own, or the default ones (no team) when it has none."""
    own = [receiver for receiver in receivers if receiver.team == team]
    return own or [receiver for receiver in receivers if not receiver.team]
