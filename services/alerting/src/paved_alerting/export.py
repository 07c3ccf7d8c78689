"""Rules for Prometheus: a rule file (``groups:``) or a Prometheus Operator ``PrometheusRule`` object."""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import groupby
from typing import Any

import yaml

from paved_alerting.durations import format_duration
from paved_alerting.metrics import METRICS
from paved_alerting.rules import DEFAULT_ENVIRONMENT, Rule, RuleKind, format_number

GROUP_INTERVAL = "30s"


def promql(rule: Rule) -> str:
    """The rule's condition in PromQL over the standard metric names."""
    condition = rule.condition
    # Series without an environment label are the default environment's, as samples ingested without
    # one are: its rules keep the selector they had before environments.
    environment = "" if rule.environment == DEFAULT_ENVIRONMENT else rule.environment
    query = METRICS[condition.metric].query(rule.service, environment)
    return f"{query} {condition.operator.value} {format_number(condition.threshold)}"


def exportable(rules: Iterable[Rule]) -> list[Rule]:
    """The rules Prometheus can evaluate: enabled threshold rules (anomaly rules have no PromQL: the
    alerting service evaluates them over its metric history)."""
    return [rule for rule in rules if rule.enabled and rule.kind is RuleKind.THRESHOLD]


def rule_groups(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """One rule group per service (``paved-<service>``), rules sorted by id; disabled and anomaly rules are
    left out."""
    ordered = sorted(exportable(rules), key=lambda rule: (rule.service, rule.rule_id))
    groups = []
    for service, members in groupby(ordered, key=lambda rule: rule.service):
        groups.append(
            {
                "name": f"paved-{service}",
                "interval": GROUP_INTERVAL,
                "rules": [_alerting_rule(rule) for rule in members],
            }
        )
    return groups


def _alerting_rule(rule: Rule) -> dict[str, Any]:
    labels = rule.alert_labels()
    del labels["alertname"]  # Prometheus sets it from `alert`
    return {
        "alert": rule.alertname,
        "expr": promql(rule),
        "for": format_duration(rule.for_ms),
        "labels": dict(sorted(labels.items())),
        "annotations": dict(sorted(rule.annotations.items())),
    }


def assumed_metrics(rules: Iterable[Rule]) -> list[str]:
    """The Prometheus metric names the exported PromQL reads."""
    return sorted(
        {name for rule in exportable(rules) for name in METRICS[rule.condition.metric].assumed_metrics}
    )


def rule_file(rules: Iterable[Rule]) -> str:
    """A Prometheus rule file."""
    return _dump({"groups": rule_groups(rules)})


def prometheus_rule(rules: Iterable[Rule], *, name: str, namespace: str) -> str:
    """A ``monitoring.coreos.com/v1`` ``PrometheusRule`` object holding the same groups."""
    document = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "paved", "app.kubernetes.io/component": "alerting"},
        },
        "spec": {"groups": rule_groups(rules)},
    }
    return _dump(document)


def object_name(service: str) -> str:
    """A DNS-1123 name for the exported object."""
    base = f"paved-{service}-alerts" if service else "paved-alerts"
    return re.sub(r"[^a-z0-9-]", "-", base)[:253]


def _dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
