"""ExportRules output checked by promtool, and metrics read from a Prometheus HTTP API."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
import pytest
import yaml
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2 as pb
from paved_alerting.metrics import METRICS

StartAlerting = Callable[..., Awaitable[Any]]
Recorders = Callable[[], Any]
T0 = 1_800_000_000


async def test_exported_rules_pass_promtool(
    start_alerting: StartAlerting, promtool: str, tmp_path: Path
) -> None:
    stub = (await start_alerting()).stub
    for service, team in (("checkout", "payments"), ("search", "discovery")):
        await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service=service, team=team))
    custom = pb.AlertRule(
        service="checkout",
        team="payments",
        display_name="Memory Hog",
        expression="memory > 2e9",
        severity=pb.SEVERITY_INFO,
        annotations={"summary": "{{ $labels.service }} uses {{ $value }} bytes"},
        enabled=True,
    )
    await stub.CreateAlertRule(pb.CreateAlertRuleRequest(alert_rule=custom, alert_rule_id="checkout-memory"))

    exported = await stub.ExportRules(pb.ExportRulesRequest())
    assert exported.assumed_metrics == [
        "http_request_duration_seconds_bucket",
        "http_requests_total",
        "process_resident_memory_bytes",
        "up",
    ]
    (tmp_path / "all.yml").write_text(exported.content)
    result = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "rules", "all.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout

    one = await stub.ExportRules(
        pb.ExportRulesRequest(
            service="checkout", format=pb.EXPORT_FORMAT_PROMETHEUS_RULE, namespace="observability"
        )
    )
    document = yaml.safe_load(one.content)
    assert document["kind"] == "PrometheusRule" and document["metadata"]["namespace"] == "observability"
    assert [group["name"] for group in document["spec"]["groups"]] == ["paved-checkout"]
    (tmp_path / "checkout.yml").write_text(yaml.safe_dump(document["spec"]))
    result = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "rules", "checkout.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.ExportRules(pb.ExportRulesRequest(service="nothing-here"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_metrics_come_from_prometheus_when_configured(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    prometheus = http_recorder()
    queries: list[dict[str, list[str]]] = []
    values = {"up": "0", "error_rate": "0.25", "requests_per_second": "12.5", "latency_p99": "340"}
    by_query = {METRICS[name].query(): value for name, value in values.items()}

    def answer(method: str, path: str, body: Any) -> tuple[int, Any]:
        url = urlparse(path)
        params = parse_qs(url.query)
        queries.append(params)
        assert url.path == "/api/v1/query"
        value = by_query.get(params["query"][0])
        result = (
            []
            if value is None
            else [{"metric": {"service": "checkout"}, "value": [float(params["time"][0]), value]}]
        )
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}

    prometheus.responder = answer
    # Anomaly scoring off: this test's server answers instant queries only, not the history's range queries.
    alerting = await start_alerting(prometheus_url=prometheus.url, anomaly_interval_seconds=0)
    stub = alerting.stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    first = await stub.EvaluateRules(pb.EvaluateRulesRequest(time=timestamp_pb2.Timestamp(seconds=T0)))
    assert {(a.labels["alertname"], a.state) for a in first.transitions} == {
        ("ServiceDown", pb.ALERT_STATE_PENDING),
        ("HighErrorRate", pb.ALERT_STATE_PENDING),
    }
    assert {q["time"][0] for q in queries} == {f"{T0}.000"}
    assert {q["query"][0] for q in queries} == {METRICS[name].query() for name in values}
    await stub.EvaluateRules(pb.EvaluateRulesRequest(time=timestamp_pb2.Timestamp(seconds=T0 + 60)))
    alerting.clock.set(T0 + 60)
    health = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))
    assert health.status == pb.HEALTH_STATUS_DOWN
    assert (health.requests_per_second, health.error_rate, health.latency_p99) == (12.5, 0.25, 340.0)
