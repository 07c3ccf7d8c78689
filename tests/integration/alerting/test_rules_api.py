"""Rule, receiver and default-alert RPCs over real gRPC, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2
from paved.alerting.v1 import alerting_pb2 as pb
from paved_kit.grpc_errors import error_details

# The fixture of conftest.py: starts the alerting service, returns a handle with .stub and .clock.
StartAlerting = Callable[..., Awaitable[Any]]


def error_rule(**changes: object) -> pb.AlertRule:
    rule = pb.AlertRule(
        service="checkout",
        team="payments",
        display_name="Error Budget Burn",
        expression="error_rate > 0.05",
        for_duration=duration_pb2.Duration(seconds=120),
        severity=pb.SEVERITY_CRITICAL,
        labels={"runbook": "errors"},
        enabled=True,
    )
    for key, value in changes.items():
        setattr(rule, key, value)
    return rule


async def test_rule_crud(start_alerting: StartAlerting) -> None:
    stub = (await start_alerting()).stub
    created = await stub.CreateAlertRule(
        pb.CreateAlertRuleRequest(alert_rule=error_rule(), alert_rule_id="burn")
    )
    assert created.name == "alertRules/burn"
    assert created.condition == pb.Condition(
        metric="error_rate", operator=pb.OPERATOR_GREATER_THAN, threshold=0.05
    )
    assert created.expression == "error_rate > 0.05"
    assert created.for_duration.seconds == 120
    assert created.annotations["summary"] == "Error Budget Burn on {{ $labels.service }}"
    assert created.etag and created.create_time.seconds > 0

    assert await stub.GetAlertRule(pb.GetAlertRuleRequest(name="alertRules/burn")) == created

    change = pb.AlertRule(
        name="alertRules/burn",
        condition=pb.Condition(
            metric="latency_p99", operator=pb.OPERATOR_GREATER_THAN_OR_EQUAL, threshold=500
        ),
        etag=created.etag,
    )
    updated = await stub.UpdateAlertRule(
        pb.UpdateAlertRuleRequest(
            alert_rule=change, update_mask=field_mask_pb2.FieldMask(paths=["condition"])
        )
    )
    assert updated.expression == "latency_p99 >= 500"
    assert updated.severity == pb.SEVERITY_CRITICAL and updated.labels == {"runbook": "errors"}
    assert updated.etag != created.etag

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await stub.UpdateAlertRule(
            pb.UpdateAlertRuleRequest(
                alert_rule=change, update_mask=field_mask_pb2.FieldMask(paths=["condition"])
            )
        )
    assert stale.value.code() == grpc.StatusCode.ABORTED

    await stub.DeleteAlertRule(pb.DeleteAlertRuleRequest(name="alertRules/burn"))
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetAlertRule(pb.GetAlertRuleRequest(name="alertRules/burn"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_bad_rules_get_field_violations_and_change_nothing(start_alerting: StartAlerting) -> None:
    stub = (await start_alerting()).stub
    bad = error_rule(service="Checkout!", expression="errors >> 1", severity=pb.SEVERITY_UNSPECIFIED)
    bad.for_duration.seconds = -5
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.CreateAlertRule(pb.CreateAlertRuleRequest(alert_rule=bad, alert_rule_id="bad"))
    details = error_details(error.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in details.field_violations} == {
        "alert_rule.service",
        "alert_rule.expression",
        "alert_rule.severity",
        "alert_rule.for_duration",
    }
    unknown = error_rule(expression="saturation > 1")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.CreateAlertRule(pb.CreateAlertRuleRequest(alert_rule=unknown))
    [violation] = error_details(error.value).field_violations
    assert (
        violation.field == "alert_rule.expression" and "unknown metric 'saturation'" in violation.description
    )
    listed = await stub.ListAlertRules(pb.ListAlertRulesRequest())
    assert list(listed.alert_rules) == []


async def test_create_is_idempotent_by_request_id_and_names_are_unique(start_alerting: StartAlerting) -> None:
    stub = (await start_alerting()).stub
    request = pb.CreateAlertRuleRequest(alert_rule=error_rule(), request_id="5d6c1f0e-create-1")
    first = await stub.CreateAlertRule(request)
    again = await stub.CreateAlertRule(request)
    assert first == again and first.name.startswith("alertRules/checkout-")
    await stub.CreateAlertRule(pb.CreateAlertRuleRequest(alert_rule=error_rule(), alert_rule_id="same"))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.CreateAlertRule(pb.CreateAlertRuleRequest(alert_rule=error_rule(), alert_rule_id="same"))
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_default_alerts_are_the_seed_s_three_and_anomalies_and_idempotent(
    start_alerting: StartAlerting,
) -> None:
    stub = (await start_alerting()).stub
    first = await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    assert first.created == 4
    summary = [
        (r.display_name, r.expression, r.for_duration.seconds, r.severity, r.default_rule)
        for r in first.alert_rules
    ]
    assert summary == [
        ("High Error Rate", "error_rate > 0.01", 300, pb.SEVERITY_WARNING, True),
        ("Service Down", "up == 0", 60, pb.SEVERITY_CRITICAL, True),
        ("High Latency", "latency_p99 > 1000", 600, pb.SEVERITY_WARNING, True),
        ("Anomaly Detected", "anomaly_score > 5.5", 0, pb.SEVERITY_WARNING, True),
    ]
    assert (first.alert_rules[3].kind, first.alert_rules[3].anomaly.sensitivity) == (
        pb.RULE_KIND_ANOMALY,
        "medium",
    )
    second = await stub.CreateDefaultAlerts(
        pb.CreateDefaultAlertsRequest(service="checkout", team="payments")
    )
    assert second.created == 0 and list(second.alert_rules) == list(first.alert_rules)
    listed = await stub.ListAlertRules(pb.ListAlertRulesRequest(filter='service = "checkout"'))
    assert len(listed.alert_rules) == 4

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout"))
    assert [v.field for v in error_details(error.value).field_violations] == ["team"]

    deleted = await stub.DeleteServiceAlerts(pb.DeleteServiceAlertsRequest(service="checkout"))
    assert deleted.deleted == 4
    assert list((await stub.ListAlertRules(pb.ListAlertRulesRequest())).alert_rules) == []


async def test_list_filters_and_pages(start_alerting: StartAlerting) -> None:
    stub = (await start_alerting()).stub
    for service in ("alpha", "bravo", "charlie"):
        await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service=service, team="core"))
    critical = await stub.ListAlertRules(pb.ListAlertRulesRequest(filter="severity = CRITICAL"))
    assert [r.name for r in critical.alert_rules] == [
        "alertRules/alpha-service-down",
        "alertRules/bravo-service-down",
        "alertRules/charlie-service-down",
    ]
    seen, token = [], ""
    while True:
        page = await stub.ListAlertRules(
            pb.ListAlertRulesRequest(page_size=4, page_token=token, filter='team = "core"')
        )
        seen += [r.name for r in page.alert_rules]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == 12 and seen == sorted(seen)  # four defaults each
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.ListAlertRules(pb.ListAlertRulesRequest(filter="owner = x"))
    assert error_details(error.value).field_violations[0].field == "filter"


async def test_receivers_mask_credentials(start_alerting: StartAlerting) -> None:
    stub = (await start_alerting()).stub
    receiver = pb.Receiver(
        team="payments", url="https://bot:s3cret@hooks.example/notify?token=abc", send_resolved=True
    )
    created = await stub.CreateReceiver(
        pb.CreateReceiverRequest(receiver=receiver, receiver_id="payments-oncall")
    )
    assert created.name == "receivers/payments-oncall"
    assert "s3cret" not in created.url and "abc" not in created.url
    listed = await stub.ListReceivers(pb.ListReceiversRequest())
    assert [r.name for r in listed.receivers] == ["receivers/payments-oncall"]
    assert "s3cret" not in str(listed)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.CreateReceiver(
            pb.CreateReceiverRequest(receiver=pb.Receiver(url="ftp://x"), receiver_id="Bad Id")
        )
    assert {v.field for v in error_details(error.value).field_violations} == {"receiver_id", "receiver.url"}
    await stub.DeleteReceiver(pb.DeleteReceiverRequest(name="receivers/payments-oncall"))
    assert list((await stub.ListReceivers(pb.ListReceiversRequest())).receivers) == []


async def test_concurrent_creates_do_not_fail(start_alerting: StartAlerting) -> None:
    stub = (await start_alerting()).stub
    request = pb.CreateDefaultAlertsRequest(service="checkout", team="payments")
    responses = await asyncio.gather(*(stub.CreateDefaultAlerts(request) for _ in range(4)))
    assert sum(response.created for response in responses) == 4
    assert all(len(response.alert_rules) == 4 for response in responses)
    create = pb.CreateAlertRuleRequest(alert_rule=error_rule(), request_id="retry-me")
    rules = await asyncio.gather(*(stub.CreateAlertRule(create) for _ in range(4)))
    assert len({rule.name for rule in rules}) == 1
