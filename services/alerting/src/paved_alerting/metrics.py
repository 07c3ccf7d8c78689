"""The metrics rules may watch: names, units, and the PromQL a standard Prometheus computes them with.

The PromQL assumes the conventional metric names of Prometheus client libraries and HTTP middleware,
each series carrying a ``service`` label (set by the scrape config or the ServiceMonitor):

- ``http_requests_total{service, code}`` — a counter of served requests, ``code`` the HTTP status;
- ``http_request_duration_seconds_bucket{service, le}`` — a histogram of request latency in seconds;
- ``up{service}`` — Prometheus' own per-target scrape health;
- ``process_cpu_seconds_total{service}`` and ``process_resident_memory_bytes{service}`` — process metrics
  every official client library exports;
- cAdvisor's container metrics (``container_cpu_usage_seconds_total``,
  ``container_memory_working_set_bytes``, ``container_cpu_cfs_periods_total``,
  ``container_cpu_cfs_throttled_periods_total``, ``container_oom_events_total``) for the per-instance usage
  that rightsizing needs, with ``service`` (and ``environment``) relabelled on.

Per-instance metrics (``cpu_usage``, ``memory_working_set``) have an ``instance_promql`` keeping one series
per pod, so history sees every instance's usage, as VPA's recommender does, while rules see the busiest one.
"""

from __future__ import annotations

from dataclasses import dataclass

RATE_WINDOW = "5m"


@dataclass(frozen=True)
class MetricDefinition:
    """A metric the platform understands: its unit and how Prometheus computes it per service."""

    name: str
    unit: str
    description: str
    # PromQL with ``{selector}`` standing for the label matchers (service="x", or empty for all services).
    promql: str
    assumed_metrics: tuple[str, ...]
    instance_promql: str = ""  # per-instance form for history; empty: the same as ``promql``

    def query(self, service: str | None = None, environment: str = "") -> str:
        """The PromQL of this metric for ``service`` (one series), or for every service when None."""
        return self.promql.format(selector=_selector(service, environment))

    def instance_query(self, service: str, environment: str = "") -> str:
        """The PromQL of this metric for ``service`` with one series per instance where that exists."""
        return (self.instance_promql or self.promql).format(selector=_selector(service, environment))


def _selector(service: str | None, environment: str) -> str:
    matcher = f'service="{escape_label_value(service)}"' if service else 'service!=""'
    if environment:
        matcher += f',environment="{escape_label_value(environment)}"'
    return matcher


def escape_label_value(value: str) -> str:
    """A label value escaped for a PromQL string literal."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


METRICS: dict[str, MetricDefinition] = {
    definition.name: definition
    for definition in (
        MetricDefinition(
            "error_rate",
            "ratio",
            "share of requests answered with a 5xx status, 0..1",
            f'sum by (service) (rate(http_requests_total{{{{{{selector}},code=~"5.."}}}}[{RATE_WINDOW}]))'
            f" / sum by (service) (rate(http_requests_total{{{{{{selector}}}}}}[{RATE_WINDOW}]))",
            ("http_requests_total",),
        ),
        MetricDefinition(
            "up",
            "bool",
            "1 while at least one instance is scraped successfully, 0 when every instance is down",
            "max by (service) (up{{{selector}}})",
            ("up",),
        ),
        MetricDefinition(
            "latency_p99",
            "milliseconds",
            "99th percentile of request latency",
            "histogram_quantile(0.99, sum by (service, le) "
            f"(rate(http_request_duration_seconds_bucket{{{{{{selector}}}}}}[{RATE_WINDOW}]))) * 1000",
            ("http_request_duration_seconds_bucket",),
        ),
        MetricDefinition(
            "requests_per_second",
            "requests/s",
            "requests served per second",
            f"sum by (service) (rate(http_requests_total{{{{{{selector}}}}}}[{RATE_WINDOW}]))",
            ("http_requests_total",),
        ),
        MetricDefinition(
            "cpu",
            "cores",
            "CPU cores in use, summed over instances",
            f"sum by (service) (rate(process_cpu_seconds_total{{{{{{selector}}}}}}[{RATE_WINDOW}]))",
            ("process_cpu_seconds_total",),
        ),
        MetricDefinition(
            "memory",
            "bytes",
            "resident memory, summed over instances",
            "sum by (service) (process_resident_memory_bytes{{{selector}}})",
            ("process_resident_memory_bytes",),
        ),
        MetricDefinition(
            "cpu_usage",
            "cores",
            "CPU cores used per instance (a sample per instance; rules see the busiest)",
            f'max by (service) (rate(container_cpu_usage_seconds_total{{{{{{selector}},container!=""}}}}'
            f"[{RATE_WINDOW}]))",
            ("container_cpu_usage_seconds_total",),
            f'sum by (service, pod) (rate(container_cpu_usage_seconds_total{{{{{{selector}},container!=""}}}}'
            f"[{RATE_WINDOW}]))",
        ),
        MetricDefinition(
            "memory_working_set",
            "bytes",
            "memory working set per instance (what the OOM killer judges; rules see the largest)",
            'max by (service) (container_memory_working_set_bytes{{{selector},container!=""}})',
            ("container_memory_working_set_bytes",),
            'sum by (service, pod) (container_memory_working_set_bytes{{{selector},container!=""}})',
        ),
        MetricDefinition(
            "cpu_throttling",
            "ratio",
            "share of CPU scheduling periods in which the service was throttled, 0..1",
            "sum by (service) "
            f"(rate(container_cpu_cfs_throttled_periods_total{{{{{{selector}}}}}}[{RATE_WINDOW}]))"
            f" / sum by (service) (rate(container_cpu_cfs_periods_total{{{{{{selector}}}}}}[{RATE_WINDOW}]))",
            ("container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_periods_total"),
        ),
        MetricDefinition(
            "oom_kills",
            "count",
            "containers killed for running out of memory in the last 5 minutes",
            f"sum by (service) (increase(container_oom_events_total{{{{{{selector}}}}}}[{RATE_WINDOW}]))",
            ("container_oom_events_total",),
        ),
        MetricDefinition(
            "replicas",
            "instances",
            "instances scraped successfully",
            "count by (service) (up{{{selector}}} == 1)",
            ("up",),
        ),
    )
}

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
