"""Alerts per environment over real gRPC: each environment of a service has its own default rules, its
samples fire only its alerts, its health is its own, and deleting one environment's rules keeps the
others'. Callers that name no environment get the default one, development."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2 as pb
from paved_kit.grpc_errors import error_details

StartAlerting = Callable[..., Awaitable[Any]]
T0 = 1_800_000_000


def at(seconds: float) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(seconds))


async def send(stub: Any, environment: str, metric: str, value: float, when: float) -> None:
    sample = pb.MetricSample(
        service="checkout", environment=environment, metric=metric, value=value, time=at(when)
    )
    await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))


async def test_each_environment_has_its_own_rules_alerts_and_health(start_alerting: StartAlerting) -> None:
    alerting = await start_alerting()
    stub = alerting.stub
    for environment in ("", "staging", "production"):
        made = await stub.CreateDefaultAlerts(
            pb.CreateDefaultAlertsRequest(service="checkout", team="payments", environment=environment)
        )
        assert made.created == 4  # the seed's three and anomalies
        assert {r.environment for r in made.alert_rules} == {environment or "development"}
    staging_rules = await stub.ListAlertRules(pb.ListAlertRulesRequest(filter='environment = "staging"'))
    assert sorted(r.name for r in staging_rules.alert_rules) == [
        "alertRules/checkout-staging-anomalies",
        "alertRules/checkout-staging-high-error-rate",
        "alertRules/checkout-staging-high-latency",
        "alertRules/checkout-staging-service-down",
    ]

    # Staging is down, production is up, development (samples naming no environment) is up.
    await send(stub, "staging", "up", 0.0, T0)
    await send(stub, "production", "up", 1.0, T0)
    await send(stub, "", "up", 1.0, T0)
    await stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(T0)))
    await send(stub, "staging", "up", 0.0, T0 + 60)
    await send(stub, "production", "up", 1.0, T0 + 60)
    await send(stub, "", "up", 1.0, T0 + 60)
    fired = await stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(T0 + 60)))
    assert [(a.rule, a.environment, a.state) for a in fired.transitions] == [
        ("alertRules/checkout-staging-service-down", "staging", pb.ALERT_STATE_FIRING)
    ]
    assert fired.transitions[0].labels["environment"] == "staging"

    alerting.clock.set(T0 + 60)
    staging = await stub.GetServiceHealth(
        pb.GetServiceHealthRequest(service="checkout", environment="staging")
    )
    production = await stub.GetServiceHealth(
        pb.GetServiceHealthRequest(service="checkout", environment="production")
    )
    development = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))
    assert (staging.environment, staging.status) == ("staging", pb.HEALTH_STATUS_DOWN)
    assert [a.display_name for a in staging.firing_alerts] == ["Service Down"]
    assert (production.status, list(production.firing_alerts)) == (pb.HEALTH_STATUS_HEALTHY, [])
    assert (development.environment, development.status) == ("development", pb.HEALTH_STATUS_HEALTHY)

    firing = await stub.ListAlerts(pb.ListAlertsRequest(filter='environment = "staging" AND state = FIRING'))
    assert [a.rule for a in firing.alerts] == ["alertRules/checkout-staging-service-down"]
    assert (await stub.ListAlerts(pb.ListAlertsRequest(filter='environment = "production"'))).alerts == []

    # Removing staging's rules leaves development's and production's, and staging's samples go with them.
    deleted = await stub.DeleteServiceAlerts(
        pb.DeleteServiceAlertsRequest(service="checkout", environment="staging")
    )
    assert deleted.deleted == 4
    left = await stub.ListAlertRules(pb.ListAlertRulesRequest(filter='service = "checkout"'))
    assert {r.environment for r in left.alert_rules} == {"development", "production"}
    after = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout", environment="staging"))
    assert (after.status, list(after.firing_alerts)) == (pb.HEALTH_STATUS_UNKNOWN, [])
    everything = await stub.DeleteServiceAlerts(pb.DeleteServiceAlertsRequest(service="checkout"))
    assert everything.deleted == 8


async def test_a_bad_environment_is_invalid_and_names_the_field(start_alerting: StartAlerting) -> None:
    stub = (await start_alerting()).stub
    for call in (
        stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout", environment="Prod!")),
        stub.CreateDefaultAlerts(
            pb.CreateDefaultAlertsRequest(service="checkout", team="payments", environment="Prod!")
        ),
        stub.DeleteServiceAlerts(pb.DeleteServiceAlertsRequest(service="checkout", environment="Prod!")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in error_details(raised.value).field_violations] == ["environment"]
    assert (await stub.ListAlertRules(pb.ListAlertRulesRequest())).alert_rules == []
