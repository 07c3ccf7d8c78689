"""Expanding an ``automatic`` observability block into the objects a cluster acts on, by the ecosystem's
conventions: a Prometheus Operator ``ServiceMonitor`` (or ``PodMonitor`` for a workload without a Service),
the service's ``PrometheusRule`` with the platform's default alerts, a Grafana dashboard in a ConfigMap the
Grafana sidecar loads (label ``grafana_dashboard: "1"``), and OpenTelemetry environment on the workload.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from paved_catalog.spec import OBSERVABILITY_SIGNALS

MONITORING_API = "monitoring.coreos.com/v1"
NAME_LABEL = "app.kubernetes.io/name"
DASHBOARD_LABEL = "grafana_dashboard"
RATE_WINDOW = "5m"
RULE_GROUP_INTERVAL = "30s"

#: The platform's default alert rules for every service: the thresholds the alerting service creates and
#: the PromQL its rule export writes for them (over the conventional HTTP and process metric names).
DEFAULT_ALERTS: tuple[dict[str, Any], ...] = (
    {
        "name": "High Error Rate",
        "expr": "error_rate > 0.01",
        "for": "5m",
        "severity": "warning",
        "promql": 'sum by (service) (rate(http_requests_total{{service="{service}",code=~"5.."}}[5m]))'
        ' / sum by (service) (rate(http_requests_total{{service="{service}"}}[5m])) > 0.01',
    },
    {
        "name": "Service Down",
        "expr": "up == 0",
        "for": "1m",
        "severity": "critical",
        "promql": 'max by (service) (up{{service="{service}"}}) == 0',
    },
    {
        "name": "High Latency",
        "expr": "latency_p99 > 1000",
        "for": "10m",
        "severity": "warning",
        "promql": "histogram_quantile(0.99, sum by (service, le) "
        '(rate(http_request_duration_seconds_bucket{{service="{service}"}}[5m]))) * 1000 > 1000',
    },
)

#: Log retention in days by environment (the service module's ``log_retention_days``).
LOG_RETENTION_DAYS = {"production": 90}
DEFAULT_LOG_RETENTION_DAYS = 14


@dataclass(frozen=True)
class ObservabilityTarget:
    """What the objects are about, and where the workload's metrics are served."""

    service: str
    team: str
    namespace: str
    environment: str
    dashboards_url: str
    otlp_endpoint: str = "http://otel-collector.observability.svc:4317"
    # The Service port that serves /metrics, when a Service exposes the workload.
    service_port: str | None = None
    # The container port (name or number) that serves /metrics, for a PodMonitor.
    pod_port: str | int | None = None
    # Labels of the workload's pods (its selector), for a PodMonitor.
    pod_labels: Mapping[str, str] | None = None


def dashboard_uid(service: str) -> str:
    """Grafana's dashboard uid (at most 40 characters) for a service."""
    uid = f"paved-{service}"
    if len(uid) <= 40:
        return uid
    return f"paved-{service[:24]}-{hashlib.sha256(service.encode()).hexdigest()[:9]}"


def log_retention_days(environment: str) -> int:
    return LOG_RETENTION_DAYS.get(environment, DEFAULT_LOG_RETENTION_DAYS)


def _alertname(title: str) -> str:
    return "".join(word[0].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", title))


def _labels(target: ObservabilityTarget, component: str) -> dict[str, str]:
    return {NAME_LABEL: target.service, "app.kubernetes.io/component": component}


def service_monitor(target: ObservabilityTarget) -> dict[str, Any]:
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": {"name": target.service, "labels": _labels(target, "metrics")},
        "spec": {
            "selector": {"matchLabels": {NAME_LABEL: target.service}},
            "endpoints": [
                {
                    "port": target.service_port,
                    "path": "/metrics",
                    "interval": "30s",
                    "relabelings": [
                        {"action": "replace", "targetLabel": "service", "replacement": target.service}
                    ],
                }
            ],
        },
    }


def pod_monitor(target: ObservabilityTarget) -> dict[str, Any]:
    endpoint: dict[str, Any] = {
        "path": "/metrics",
        "interval": "30s",
        "relabelings": [{"action": "replace", "targetLabel": "service", "replacement": target.service}],
    }
    if isinstance(target.pod_port, int):
        endpoint["targetPort"] = target.pod_port
    else:
        endpoint["port"] = target.pod_port or "metrics"
    return {
        "apiVersion": MONITORING_API,
        "kind": "PodMonitor",
        "metadata": {"name": target.service, "labels": _labels(target, "metrics")},
        "spec": {
            "selector": {"matchLabels": dict(target.pod_labels or {NAME_LABEL: target.service})},
            "podMetricsEndpoints": [endpoint],
        },
    }


def prometheus_rule(target: ObservabilityTarget) -> dict[str, Any]:
    rules = []
    for alert in DEFAULT_ALERTS:
        rules.append(
            {
                "alert": _alertname(alert["name"]),
                "expr": alert["promql"].format(service=target.service),
                "for": alert["for"],
                "labels": {"service": target.service, "severity": alert["severity"], "team": target.team},
                "annotations": {
                    "summary": f"{alert['name']} on {{{{ $labels.service }}}}",
                    "description": f"{alert['expr'].split()[0]} of service {{{{ $labels.service }}}} is "
                    f"{{{{ $value }}}} (alert when {alert['expr']}).",
                },
            }
        )
    return {
        "apiVersion": MONITORING_API,
        "kind": "PrometheusRule",
        "metadata": {"name": f"{target.service}-alerts", "labels": _labels(target, "alerting")},
        "spec": {
            "groups": [{"name": f"paved-{target.service}", "interval": RULE_GROUP_INTERVAL, "rules": rules}]
        },
    }


def _panel(panel_id: int, title: str, expr: str, unit: str, x: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 8, "x": x, "y": 0},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr}],
    }


def dashboard(target: ObservabilityTarget) -> dict[str, Any]:
    """The Grafana dashboard model (requests, errors, latency: the RED method) of one service."""
    selector = f'service="{target.service}"'
    return {
        "uid": dashboard_uid(target.service),
        "title": f"{target.service} overview",
        "tags": ["paved", target.team, target.environment],
        "timezone": "utc",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}
            ]
        },
        "panels": [
            _panel(
                1,
                "Requests per second",
                f"sum(rate(http_requests_total{{{selector}}}[{RATE_WINDOW}]))",
                "reqps",
                0,
            ),
            _panel(
                2,
                "Error rate",
                f'sum(rate(http_requests_total{{{selector},code=~"5.."}}[{RATE_WINDOW}]))'
                f" / sum(rate(http_requests_total{{{selector}}}[{RATE_WINDOW}]))",
                "percentunit",
                8,
            ),
            _panel(
                3,
                "Latency p99",
                "histogram_quantile(0.99, sum by (le) "
                f"(rate(http_request_duration_seconds_bucket{{{selector}}}[{RATE_WINDOW}])))",
                "s",
                16,
            ),
        ],
    }


@lru_cache(maxsize=1024)
def _dashboard_json(service: str, team: str, environment: str) -> str:
    target = ObservabilityTarget(service, team, "", environment, "")
    return json.dumps(dashboard(target), indent=2, sort_keys=True)


def dashboard_config_map(target: ObservabilityTarget) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{target.service}-dashboard",
            "labels": {**_labels(target, "dashboard"), DASHBOARD_LABEL: "1"},
            "annotations": {"grafana_folder": target.team},
        },
        "data": {f"{target.service}.json": _dashboard_json(target.service, target.team, target.environment)},
    }


def dashboard_link(target: ObservabilityTarget) -> dict[str, str]:
    """The dashboard's title and URL, as the catalog, Backstage and the docs show them."""
    uid = dashboard_uid(target.service)
    return {
        "title": f"{target.service} overview",
        "url": f"{target.dashboards_url.rstrip('/')}/d/{uid}/{target.service}-overview"
        f"?var-namespace={target.namespace}",
    }


def otel_environment(target: ObservabilityTarget) -> list[dict[str, str]]:
    """OpenTelemetry SDK environment: every official SDK reads these variables."""
    ratio = "0.1" if target.environment == "production" else "1.0"
    return [
        {"name": "OTEL_SERVICE_NAME", "value": target.service},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": target.otlp_endpoint},
        {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "grpc"},
        {
            "name": "OTEL_RESOURCE_ATTRIBUTES",
            "value": f"service.namespace={target.namespace},deployment.environment={target.environment},"
            f"team={target.team}",
        },
        {"name": "OTEL_TRACES_SAMPLER", "value": "parentbased_traceidratio"},
        {"name": "OTEL_TRACES_SAMPLER_ARG", "value": ratio},
    ]


def expand(
    includes: tuple[str, ...], target: ObservabilityTarget
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The objects for ``includes`` and the resource's properties (one bool per signal, dashboards, log
    retention). Traces are wired into the workload itself (:func:`otel_environment`)."""
    manifests: list[dict[str, Any]] = []
    if "metrics" in includes:
        manifests.append(service_monitor(target) if target.service_port else pod_monitor(target))
        manifests.append(dashboard_config_map(target))
    if "alerts" in includes:
        manifests.append(prometheus_rule(target))
    properties: dict[str, Any] = {signal: signal in includes for signal in OBSERVABILITY_SIGNALS}
    properties["dashboards"] = [dashboard_link(target)] if "metrics" in includes else []
    if "logs" in includes:
        properties["log_retention_days"] = log_retention_days(target.environment)
    return manifests, properties
