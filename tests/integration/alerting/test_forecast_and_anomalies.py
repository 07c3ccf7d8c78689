"""Forecasts and anomaly detection over backfilled metric history on a real database: two weeks of
seasonal samples in, an hourly forecast with its backtest and scaling schedule out; an anomaly in the
latest hour fires the default anomaly rule (and only it), while the same anomaly in the past is listed but
never notified."""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from paved.alerting.v1 import alerting_pb2 as pb
from paved_alerting.clock import ManualClock

StartAlerting = Callable[..., Awaitable[Any]]
HOUR = 3600
NOW = 1_800_057_600 + 30 * 60  # half past midnight UTC
STEP = 1800  # a sample every half hour
BASE = {"requests_per_second": 200.0, "error_rate": 0.002, "latency_p99": 120.0, "cpu": 1.5}


def level(metric: str, at: float) -> float:
    """A daily cycle (busy afternoons) with a quieter weekend."""
    hour = (at % 86400) / HOUR
    weekend = 0.7 if int(at // 86400) % 7 in (2, 3) else 1.0
    return BASE[metric] * weekend * (1.0 + 0.5 * math.sin(2 * math.pi * (hour - 9) / 24))


def two_weeks(service: str, end: float, spike: tuple[float, float] | None = None) -> list[pb.MetricSample]:
    """Samples of the four watched metrics from 14 days before ``end``; ``spike`` multiplies error rate
    and latency by ten in [from, to)."""
    rng = random.Random(7)
    samples = []
    start = end - 14 * 86400
    t = start - start % STEP
    while t < end:
        for metric in BASE:
            value = level(metric, t) * (1 + rng.gauss(0, 0.03))
            if spike and spike[0] <= t < spike[1] and metric in ("error_rate", "latency_p99"):
                value *= 10
            samples.append(
                pb.MetricSample(
                    service=service, metric=metric, value=value, time=timestamp_pb2.Timestamp(seconds=t)
                )
            )
        samples.append(
            pb.MetricSample(
                service=service, metric="replicas", value=4.0, time=timestamp_pb2.Timestamp(seconds=t)
            )
        )
        t += STEP
    return samples


async def ingest(stub: Any, samples: list[pb.MetricSample]) -> pb.IngestSamplesResponse:
    async def requests() -> Any:
        for offset in range(0, len(samples), 2000):
            yield pb.IngestSamplesRequest(samples=samples[offset : offset + 2000])

    return await stub.IngestSamples(requests())


def violations(error: grpc.aio.AioRpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            found = error_details_pb2.BadRequest()
            detail.Unpack(found)
            return [v.field for v in found.field_violations]
    return []


async def test_two_weeks_backfilled_give_a_forecast_with_backtest_and_schedule(
    start_alerting: StartAlerting,
) -> None:
    alerting = await start_alerting(clock=ManualClock(NOW))
    response = await ingest(alerting.stub, two_weeks("checkout", NOW))
    assert response.rejected == 0 and response.history_skipped == 0

    found = await alerting.stub.Forecast(
        pb.ForecastRequest(service="checkout", metric="requests_per_second", horizon_hours=24)
    )
    assert found.history_hours == 14 * 24 and found.period_hours == 168
    assert len(found.points) == 24
    assert found.points[0].time.seconds == NOW - NOW % HOUR  # from the current hour on
    for point in found.points:
        expected = level("requests_per_second", point.time.seconds + HOUR / 2)
        assert point.lower <= point.mean <= point.upper
        assert abs(point.mean - expected) < 0.15 * expected
    backtest = found.backtest
    # Backtest origins have under two weeks before them, so they model the day only and miss the weekend:
    # the model does not beat seasonal-naive there, and its schedule is not allowed to act.
    assert backtest.folds == 7 and backtest.horizon_hours == 24
    assert 0 < backtest.mape < 30 and 0 < backtest.naive_mape < 30 and backtest.mase >= 1
    scaling = found.scaling
    assert scaling.mode == "shadow" and "does not beat seasonal-naive" in scaling.reason
    # Learned: the busiest hours carried about 300 rps on 4 replicas.
    assert scaling.capacity_source == "learned" and 60 < scaling.capacity_per_replica < 90
    assert len(scaling.hours) == 24 and all(1 <= h.min_replicas <= 10 for h in scaling.hours)
    assert len(scaling.shadow) == 24 and all(h.observed == 4.0 for h in scaling.shadow)

    for request, field in (
        (pb.ForecastRequest(service="checkout", metric="rps"), "metric"),
        (pb.ForecastRequest(service="checkout", metric="cpu", horizon_hours=1000), "horizon_hours"),
        (pb.ForecastRequest(service="Not A Name", metric="cpu"), "service"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await alerting.stub.Forecast(request)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violations(error.value) == [field]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await alerting.stub.Forecast(pb.ForecastRequest(service="unseen", metric="cpu"))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_an_anomaly_in_the_latest_hour_fires_the_anomaly_rule_with_its_metric(
    start_alerting: StartAlerting, http_recorder: Any
) -> None:
    hook = http_recorder()
    alerting = await start_alerting(clock=ManualClock(NOW))
    await alerting.stub.CreateReceiver(
        pb.CreateReceiverRequest(receiver_id="payments", receiver=pb.Receiver(team="payments", url=hook.url))
    )
    await alerting.stub.CreateDefaultAlerts(
        pb.CreateDefaultAlertsRequest(service="checkout", team="payments")
    )
    await alerting.stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="quiet", team="payments"))
    # checkout: errors and latency ten times higher in the current half hour; quiet: the same, days ago
    # (not at this hour of the week: with two weekly cycles, a spike echoes as a dip a week later).
    past_spike = NOW - NOW % HOUR - 6 * 86400 - 12 * HOUR
    await ingest(alerting.stub, two_weeks("checkout", NOW, spike=(NOW - 1800, NOW)))
    await ingest(alerting.stub, two_weeks("quiet", NOW, spike=(past_spike, past_spike + HOUR)))

    result = await alerting.stub.EvaluateRules(
        pb.EvaluateRulesRequest(time=timestamp_pb2.Timestamp(seconds=NOW))
    )
    fired = {(t.service, t.display_name): t for t in result.transitions}
    anomaly = fired[("checkout", "Anomaly Detected")]
    assert anomaly.state == pb.ALERT_STATE_FIRING and anomaly.value > 5.5
    assert anomaly.annotations["anomaly_metric"] in ("error_rate", "latency_p99")
    assert anomaly.annotations["anomaly_kind"] in ("spike", "level_shift")
    # Causes come from provisioning; none is configured here, and the alert says so.
    assert anomaly.annotations["likely_cause"].startswith("unknown: no provisioning address")
    assert ("quiet", "Anomaly Detected") not in fired  # the past is listed, never notified
    # The threshold rules saw no live samples in this test (backfill is history), only the anomaly fired.
    assert set(fired) == {("checkout", "Anomaly Detected")}

    delivered = await hook.wait_for(1)
    alert = delivered[0].body["alerts"][0]
    assert alert["labels"]["alertname"] == "AnomalyDetected" and "likely_cause" in alert["annotations"]

    past = await alerting.stub.ListAnomalies(pb.ListAnomaliesRequest(service="quiet"))
    assert past.sensitivity == "medium" and past.hours_scored == 14 * 24 + 1
    spikes = [a for a in past.anomalies if a.start_time.seconds == past_spike]
    assert {a.metric for a in spikes} == {"error_rate", "latency_p99"}
    assert all(a.score > 5.5 and a.end_time.seconds - a.start_time.seconds >= HOUR for a in spikes)
    assert past.causes_unavailable.startswith("no provisioning address")
    # Seasonal noise alone raises nothing on the other metrics.
    assert {a.metric for a in past.anomalies} <= {"error_rate", "latency_p99"}

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await alerting.stub.ListAnomalies(pb.ListAnomaliesRequest(service="quiet", sensitivity="extreme"))
    assert violations(error.value) == ["sensitivity"]
