"""Expanding an ``automatic`` observability block into concrete specs: metrics, logs, traces, alerts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paved_catalog.spec import OBSERVABILITY_SIGNALS

API_VERSION = "observability.paved.dev/v1"

#: The platform's default alert rules for every service (same thresholds the alerting service creates).
DEFAULT_ALERTS: tuple[dict[str, Any], ...] = (
    {"name": "High Error Rate", "expr": "error_rate > 0.01", "for": "5m", "severity": "warning"},
    {"name": "Service Down", "expr": "up == 0", "for": "1m", "severity": "critical"},
    {"name": "High Latency", "expr": "latency_p99 > 1000", "for": "10m", "severity": "warning"},
)


@dataclass(frozen=True)
class ObservabilityTarget:
    """What the specs are about."""

    service: str
    team: str
    namespace: str
    environment: str
    metrics_port: int | str
    dashboards_url: str


def expand(
    includes: tuple[str, ...], target: ObservabilityTarget
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The specs for ``includes`` and the resource's properties (one bool per signal, dashboards)."""
    production = target.environment == "production"
    selector = {"service": target.service, "namespace": target.namespace}
    manifests: list[dict[str, Any]] = []
    if "metrics" in includes:
        manifests.append(
            {
                "apiVersion": API_VERSION,
                "kind": "MetricsScrape",
                "metadata": {"name": target.service, "namespace": target.namespace},
                "spec": {**selector, "path": "/metrics", "port": target.metrics_port, "interval": "30s"},
            }
        )
    if "logs" in includes:
        manifests.append(
            {
                "apiVersion": API_VERSION,
                "kind": "LogPipeline",
                "metadata": {"name": target.service, "namespace": target.namespace},
                "spec": {**selector, "format": "json", "retention_days": 90 if production else 14},
            }
        )
    if "traces" in includes:
        manifests.append(
            {
                "apiVersion": API_VERSION,
                "kind": "TraceExporter",
                "metadata": {"name": target.service, "namespace": target.namespace},
                "spec": {
                    **selector,
                    "protocol": "otlp",
                    "endpoint": "otel-collector.observability.svc:4317",
                    "sampling_ratio": 0.1 if production else 1.0,
                },
            }
        )
    if "alerts" in includes:
        manifests.append(
            {
                "apiVersion": API_VERSION,
                "kind": "AlertRules",
                "metadata": {"name": target.service, "namespace": target.namespace},
                "spec": {**selector, "team": target.team, "rules": [dict(rule) for rule in DEFAULT_ALERTS]},
            }
        )
    dashboards = [
        {
            "title": f"{target.service} overview",
            "url": f"{target.dashboards_url.rstrip('/')}/d/paved-service?var-service={target.service}"
            f"&var-namespace={target.namespace}",
        }
    ]
    properties: dict[str, Any] = {signal: signal in includes for signal in OBSERVABILITY_SIGNALS}
    properties["dashboards"] = dashboards
    return manifests, properties
