"""Notification delivery: retries after failures, survival across a restart, Alertmanager forwarding."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2 as pb
from paved_alerting import store
from paved_alerting.clock import ManualClock
from paved_kit.db import session_factory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

StartAlerting = Callable[..., Awaitable[Any]]
Recorders = Callable[[], Any]
T0 = 1_800_000_000


def at(seconds: float) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(seconds))


async def service_down(stub: Any, start: float) -> None:
    """Make checkout's Service Down alert fire (down for the whole minute)."""
    for offset in (0, 60):
        sample = pb.MetricSample(service="checkout", metric="up", value=0, time=at(start + offset))
        await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
        await stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(start + offset)))


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Wait until ``check`` holds (delivery runs in the background)."""
    for _ in range(int(within / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def outbox(alerting: Any) -> list[Any]:
    sessions = session_factory(alerting.database)
    async with sessions() as session:
        return await store.outbox_rows(session=session)


async def test_a_failing_webhook_is_retried_with_backoff(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    hook = http_recorder()
    hook.statuses = [500, 503]
    alerting = await start_alerting(default_webhook_url=hook.url)
    await alerting.stub.CreateDefaultAlerts(
        pb.CreateDefaultAlertsRequest(service="checkout", team="payments")
    )
    await service_down(alerting.stub, T0)
    [delivered] = await hook.wait_for(1)
    assert hook.attempts == 3  # two failures, then success
    assert delivered.body["status"] == "firing"
    assert delivered.body["alerts"][0]["labels"]["alertname"] == "ServiceDown"

    async def outbox_empty() -> bool:
        return await outbox(alerting) == []

    await eventually(outbox_empty)


async def test_a_stop_while_sending_gives_the_notification_back(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    """Stopped while the receiver is still answering, the service gives its claim back: the next start
    sends at once, not when the claim's lease (25 s with the default timeout) runs out."""
    hook = http_recorder()
    answering, answer = threading.Event(), threading.Event()

    def respond(method: str, path: str, body: Any) -> tuple[int, Any]:
        if answering.is_set():
            return 200, {}
        answering.set()
        answer.wait(10)
        return 500, {}

    hook.responder = respond
    first = await start_alerting(default_webhook_url=hook.url)
    await first.stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    await service_down(first.stub, T0)

    async def sending() -> bool:
        return answering.is_set()

    await eventually(sending)
    await first.stop()
    answer.set()
    [queued] = await outbox(first)
    assert queued.next_attempt_at < time.time() + 1, "the claim was not given back"

    second = await start_alerting(default_webhook_url=hook.url)
    [delivered] = await hook.wait_for(1, within=5.0)
    assert delivered.body["alerts"][0]["labels"]["alertname"] == "ServiceDown"

    async def outbox_empty() -> bool:
        return await outbox(second) == []

    await eventually(outbox_empty)


async def test_pending_notifications_survive_a_restart(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    hook = http_recorder()
    hook.default_status = 500
    clock = ManualClock(T0)
    first = await start_alerting(clock=clock, default_webhook_url=hook.url)
    await first.stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    # The error-rate alert goes pending before the restart; its `for` keeps counting across it.
    sample = pb.MetricSample(service="checkout", metric="error_rate", value=0.3, time=at(T0))
    await first.stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
    await service_down(first.stub, T0)

    async def failed_twice() -> bool:
        return hook.attempts >= 2

    await eventually(failed_twice)
    [queued] = await outbox(first)
    assert queued.attempts >= 1 and queued.last_error == "HTTP 500"
    await first.stop()

    hook.default_status = 200
    second = await start_alerting(clock=clock, default_webhook_url=hook.url)
    [delivered] = await hook.wait_for(1)
    assert delivered.body["alerts"][0]["labels"]["alertname"] == "ServiceDown"

    async def outbox_empty() -> bool:
        return await outbox(second) == []

    await eventually(outbox_empty)

    # Alert states were persisted; samples live in memory only, so checkout's `up` has no data now.
    firing = await second.stub.ListAlerts(pb.ListAlertsRequest(filter="state = FIRING"))
    assert [a.rule for a in firing.alerts] == ["alertRules/checkout-service-down"]
    sample = pb.MetricSample(service="checkout", metric="error_rate", value=0.3, time=at(T0 + 300))
    await second.stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
    response = await second.stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(T0 + 300)))
    changes = {(a.labels["alertname"], a.state) for a in response.transitions}
    # Error rate fires exactly 5m after it first held (before the restart); without `up` data, resolved.
    assert changes == {("HighErrorRate", pb.ALERT_STATE_FIRING), ("ServiceDown", pb.ALERT_STATE_RESOLVED)}


async def test_alerts_go_to_alertmanager_when_configured(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    alertmanager = http_recorder()
    alerting = await start_alerting(alertmanager_url=alertmanager.url)
    stub = alerting.stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    await service_down(stub, T0)
    [posted] = await alertmanager.wait_for(1)
    assert (posted.method, posted.path) == ("POST", "/api/v2/alerts")
    [alert] = posted.body
    labels = {
        "alertname": "ServiceDown",
        "service": "checkout",
        "environment": "development",
        "team": "payments",
        "severity": "critical",
    }
    assert alert["labels"] == labels
    assert alert["startsAt"] == "2027-01-15T08:01:00Z"
    assert alert["endsAt"] == "2027-01-15T08:05:00Z"  # valid for four resend intervals unless sent again
    assert alert["generatorURL"] == "https://portal.example/alertRules/checkout-service-down"

    async def down_at(offset: int) -> None:
        sample = pb.MetricSample(service="checkout", metric="up", value=0, time=at(T0 + offset))
        await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
        await stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(T0 + offset)))

    await down_at(90)  # within the resend interval: nothing new
    await down_at(120)  # a minute after the last send: sent again, valid longer
    _, resent = await alertmanager.wait_for(2)
    assert [a["endsAt"] for a in resent.body] == ["2027-01-15T08:06:00Z"]
    sample = pb.MetricSample(service="checkout", metric="up", value=1, time=at(T0 + 150))
    await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
    await stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(T0 + 150)))
    *_, ended = await alertmanager.wait_for(3)
    assert [(a["labels"]["alertname"], a["endsAt"]) for a in ended.body] == [
        ("ServiceDown", "2027-01-15T08:02:30Z")
    ]
    assert len(alertmanager.received) == 3


async def test_rules_are_evaluated_on_the_interval(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    hook = http_recorder()
    alerting = await start_alerting(evaluation_interval_seconds=0.05, default_webhook_url=hook.url)
    stub = alerting.stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    sample = pb.MetricSample(service="checkout", metric="up", value=0, time=at(T0))
    await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))

    async def state_is(state: int) -> bool:
        alerts = (await stub.ListAlerts(pb.ListAlertsRequest(filter='service = "checkout"'))).alerts
        return [a.state for a in alerts] == [state]

    await eventually(lambda: state_is(pb.ALERT_STATE_PENDING))
    # Nothing fires until the controlled clock has moved past the `for`.
    alerting.clock.advance(59)
    sample = pb.MetricSample(service="checkout", metric="up", value=0, time=at(T0 + 59))
    await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
    await asyncio.sleep(0.2)
    assert await state_is(pb.ALERT_STATE_PENDING)
    alerting.clock.advance(1)
    await eventually(lambda: state_is(pb.ALERT_STATE_FIRING))
    [delivered] = await hook.wait_for(1)
    assert delivered.body["alerts"][0]["startsAt"] == "2027-01-15T08:01:00Z"


async def test_resolved_is_never_delivered_before_firing(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    hook = http_recorder()
    refused: list[str] = []

    def answer(method: str, path: str, body: Any) -> tuple[int, Any]:
        # The receiver refuses the firing notification twice and accepts everything else.
        if body["status"] == "firing" and len(refused) < 2:
            refused.append(body["status"])
            return 500, {}
        return 200, {}

    hook.responder = answer
    alerting = await start_alerting(default_webhook_url=hook.url, retry_initial_seconds=0.2)
    stub = alerting.stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    await service_down(stub, T0)
    sample = pb.MetricSample(service="checkout", metric="up", value=1, time=at(T0 + 90))
    await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
    await stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(T0 + 90)))
    firing, resolved = await hook.wait_for(2)
    assert (firing.body["status"], resolved.body["status"]) == ("firing", "resolved")
    assert hook.attempts == 4 and refused == ["firing", "firing"]


async def test_a_transition_that_could_not_be_recorded_is_found_again(
    start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    hook = http_recorder()
    # A slow outbox poll: delivery is woken by new notifications, and stays out of the failure below.
    alerting = await start_alerting(default_webhook_url=hook.url, notification_poll_seconds=30)
    stub = alerting.stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    sample = pb.MetricSample(service="checkout", metric="up", value=0, time=at(T0))
    await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
    await stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(T0)))

    # The database loses the outbox table for a while: the cycle that fires the alert cannot record it.
    # (The engine is called directly: over gRPC the same failure is an INTERNAL status.)
    async with alerting.database.begin() as connection:
        await connection.execute(text("ALTER TABLE notification_outbox RENAME TO notification_outbox_away"))
    sample = pb.MetricSample(service="checkout", metric="up", value=0, time=at(T0 + 60))
    await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
    with pytest.raises(DBAPIError):
        await alerting.app.engine.evaluate(T0 + 60)
    pending = await stub.ListAlerts(pb.ListAlertsRequest(filter="state = PENDING"))
    assert [a.rule for a in pending.alerts] == ["alertRules/checkout-service-down"]

    async with alerting.database.begin() as connection:
        await connection.execute(text("ALTER TABLE notification_outbox_away RENAME TO notification_outbox"))
    response = await stub.EvaluateRules(pb.EvaluateRulesRequest(time=at(T0 + 61)))
    assert [(a.labels["alertname"], a.state) for a in response.transitions] == [
        ("ServiceDown", pb.ALERT_STATE_FIRING)
    ]
    [delivered] = await hook.wait_for(1)
    assert delivered.body["alerts"][0]["startsAt"] == "2027-01-15T08:01:01Z"
