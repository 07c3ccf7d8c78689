"""Alerts over real gRPC with a controlled clock: pending, firing after `for`, resolved, notified, health."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2 as pb
from paved_alerting.fingerprint import fingerprint

StartAlerting = Callable[..., Awaitable[Any]]
Recorders = Callable[[], Any]
T0 = 1_800_000_000

DEFAULTS = {
    # alertname: (metric, bad value, good value, `for` in seconds, severity, health while firing)
    "HighErrorRate": ("error_rate", 0.2, 0.001, 300, "warning", pb.HEALTH_STATUS_DEGRADED),
    "ServiceDown": ("up", 0.0, 1.0, 60, "critical", pb.HEALTH_STATUS_DOWN),
    "HighLatency": ("latency_p99", 2500.0, 120.0, 600, "warning", pb.HEALTH_STATUS_DEGRADED),
}


def at(seconds: float) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(seconds), nanos=round((seconds % 1) * 1e9))


async def send(stub: Any, service: str, metric: str, value: float, when: float) -> pb.IngestSamplesResponse:
    sample = pb.MetricSample(service=service, metric=metric, value=value, time=at(when))
    return await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))


async def evaluate(stub: Any, when: float) -> list[tuple[str, int]]:
    response = await stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(when)))
    return [(alert.labels["alertname"], alert.state) for alert in response.transitions]


async def step(stub: Any, metric: str, value: float, when: float) -> list[tuple[str, int]]:
    await send(stub, "checkout", metric, value, when)
    return await evaluate(stub, when)


@pytest.mark.parametrize("alertname", list(DEFAULTS))
async def test_each_default_alert_pends_fires_after_for_and_resolves(
    alertname: str, start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    metric, bad, good, hold, severity, firing_health = DEFAULTS[alertname]
    hook = http_recorder()
    alerting = await start_alerting()
    stub = alerting.stub
    await stub.CreateReceiver(
        pb.CreateReceiverRequest(
            receiver=pb.Receiver(team="payments", url=f"{hook.url}/hook", send_resolved=True),
            receiver_id="payments",
        )
    )
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))

    assert await step(stub, metric, bad, T0) == [(alertname, pb.ALERT_STATE_PENDING)]
    assert await step(stub, metric, bad, T0 + hold - 1) == []
    alerts = await stub.ListAlerts(pb.ListAlertsRequest(filter="state = PENDING"))
    assert [a.labels["alertname"] for a in alerts.alerts] == [alertname]
    assert await step(stub, metric, bad, T0 + hold) == [(alertname, pb.ALERT_STATE_FIRING)]

    health = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))
    assert health.status == firing_health
    assert [a.labels["alertname"] for a in health.firing_alerts] == [alertname]

    [firing] = await hook.wait_for(1)
    assert firing.path == "/hook"
    payload = firing.body
    assert payload["version"] == "4" and payload["status"] == "firing" and payload["receiver"] == "payments"
    assert payload["groupLabels"] == {"alertname": alertname, "service": "checkout"}
    assert payload["commonLabels"] == {
        "alertname": alertname,
        "service": "checkout",
        "environment": "development",
        "team": "payments",
        "severity": severity,
    }
    assert payload["externalURL"] == "https://portal.example"
    [alert] = payload["alerts"]
    assert alert["status"] == "firing"
    assert alert["fingerprint"] == fingerprint(alert["labels"])
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert "checkout" in alert["annotations"]["summary"]
    assert f"is {bad:g}" in alert["annotations"]["description"]

    assert await step(stub, metric, good, T0 + hold + 30) == [(alertname, pb.ALERT_STATE_RESOLVED)]
    _, resolved = await hook.wait_for(2)
    assert resolved.body["status"] == "resolved"
    [ended] = resolved.body["alerts"]
    assert ended["fingerprint"] == alert["fingerprint"]
    assert ended["startsAt"] == alert["startsAt"] and ended["endsAt"] != "0001-01-01T00:00:00Z"
    health = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))
    assert health.status == pb.HEALTH_STATUS_HEALTHY


async def test_flapping_below_for_never_fires(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    hook = http_recorder()
    stub = (await start_alerting(default_webhook_url=hook.url)).stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    states = []
    for minute in range(0, 40, 4):
        when = T0 + minute * 60
        states += await step(stub, "error_rate", 0.5, when)
        states += await step(stub, "error_rate", 0.0, when + 240)  # 4 minutes < the 5-minute `for`
    assert {state for _, state in states} == {pb.ALERT_STATE_PENDING, pb.ALERT_STATE_INACTIVE}
    firing = await stub.ListAlerts(pb.ListAlertsRequest(filter="state = FIRING"))
    assert list(firing.alerts) == []
    await asyncio.sleep(0.2)
    assert hook.received == []


async def test_health_without_data_is_unknown_and_metrics_are_reported(start_alerting: StartAlerting) -> None:
    alerting = await start_alerting()
    stub = alerting.stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    # No data is not 0: `up == 0` must not fire for a silent service.
    assert await evaluate(stub, T0) == []
    assert await evaluate(stub, T0 + 600) == []
    alerting.clock.set(T0 + 600)
    health = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))
    assert health.status == pb.HEALTH_STATUS_UNKNOWN
    assert not health.HasField("requests_per_second") and not health.HasField("error_rate")

    samples = [
        pb.MetricSample(service="checkout", metric=metric, value=value, time=at(T0 + 600))
        for metric, value in (
            ("requests_per_second", 250.0),
            ("error_rate", 0.002),
            ("latency_p99", 180.0),
            ("up", 1),
        )
    ]
    response = await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=samples)]))
    assert (response.accepted, response.rejected) == (4, 0)
    health = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))
    assert health.status == pb.HEALTH_STATUS_HEALTHY
    assert (health.requests_per_second, health.error_rate, health.latency_p99) == (250.0, 0.002, 180.0)
    assert health.sample_time.seconds == T0 + 600

    # A deprovisioned service's samples go with its rules.
    await stub.DeleteServiceAlerts(pb.DeleteServiceAlertsRequest(service="checkout"))
    health = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))
    assert health.status == pb.HEALTH_STATUS_UNKNOWN

    # Once the samples are older than the lookback, the service is unknown again.
    await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=samples)]))
    assert (await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))).status == (
        pb.HEALTH_STATUS_HEALTHY
    )
    alerting.clock.set(T0 + 600 + 301)
    health = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))
    assert health.status == pb.HEALTH_STATUS_UNKNOWN


async def test_ingest_reports_rejected_samples(start_alerting: StartAlerting) -> None:
    stub = (await start_alerting()).stub
    batches = [
        pb.IngestSamplesRequest(
            samples=[
                pb.MetricSample(service="checkout", metric="up", value=1, time=at(T0)),
                pb.MetricSample(service="checkout", metric="saturation", value=1, time=at(T0)),
            ]
        ),
        pb.IngestSamplesRequest(
            samples=[pb.MetricSample(service="checkout", metric="cpu", value=float("nan"))]
        ),
    ]
    response = await stub.IngestSamples(iter(batches))
    assert (response.accepted, response.rejected) == (1, 2)
    assert response.errors[0] == "samples[1].metric: unknown metric 'saturation'"
    assert "finite" in response.errors[1]


async def test_list_alerts_filters_by_service_team_state_and_severity(start_alerting: StartAlerting) -> None:
    stub = (await start_alerting()).stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="search", team="discovery"))
    for service in ("checkout", "search"):
        await send(stub, service, "up", 0, T0)
        await send(stub, service, "up", 0, T0 + 60)
    await send(stub, "checkout", "error_rate", 0.5, T0 + 60)
    await evaluate(stub, T0)
    await evaluate(stub, T0 + 60)

    async def names(filter_text: str) -> list[str]:
        response = await stub.ListAlerts(pb.ListAlertsRequest(filter=filter_text))
        return [alert.rule for alert in response.alerts]

    assert await names("state = FIRING") == [
        "alertRules/checkout-service-down",
        "alertRules/search-service-down",
    ]
    assert await names('state = FIRING AND team = "discovery"') == ["alertRules/search-service-down"]
    assert await names('(team = "discovery" OR team = "payments") AND severity = CRITICAL') == [
        "alertRules/checkout-service-down",
        "alertRules/search-service-down",
    ]
    assert await names('service = "checkout" AND severity = WARNING') == [
        "alertRules/checkout-high-error-rate"
    ]
    assert await names("state = ALERT_STATE_PENDING") == ["alertRules/checkout-high-error-rate"]
    [alert] = (await stub.ListAlerts(pb.ListAlertsRequest(filter='service = "search"'))).alerts
    assert alert.name == f"alertRules/search-service-down/alerts/{alert.fingerprint}"
    assert alert.value == 0 and alert.fire_time.seconds == T0 + 60 and alert.active_time.seconds == T0


async def test_deleting_a_firing_rule_sends_resolved(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    hook = http_recorder()
    stub = (await start_alerting(default_webhook_url=hook.url)).stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    await step(stub, "up", 0, T0)
    await step(stub, "up", 0, T0 + 60)
    await stub.DeleteServiceAlerts(pb.DeleteServiceAlertsRequest(service="checkout"))
    firing, resolved = await hook.wait_for(2)
    assert (firing.body["status"], resolved.body["status"]) == ("firing", "resolved")
    assert firing.body["receiver"] == "default"
