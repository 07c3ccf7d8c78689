"""Metric history over gRPC on a real database: backfill, roll-ups, queries, ordering, retention, and the
Prometheus range API as the source when one is configured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from paved.alerting.v1 import alerting_pb2 as pb
from paved_alerting.clock import ManualClock
from sqlalchemy import text

StartAlerting = Callable[..., Awaitable[Any]]
NOW = 1_800_057_600  # midnight UTC, so daily and hourly steps line up with whole days
DAY = 86400


def ts(seconds: float) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(seconds), nanos=int((seconds % 1) * 1e9))


def sample(metric: str, value: float, at: float, environment: str = "") -> pb.MetricSample:
    return pb.MetricSample(
        service="checkout", metric=metric, value=value, time=ts(at), environment=environment
    )


async def ingest(stub: Any, samples: list[pb.MetricSample], batch: int = 500) -> pb.IngestSamplesResponse:
    async def requests() -> Any:
        for offset in range(0, len(samples), batch):
            yield pb.IngestSamplesRequest(samples=samples[offset : offset + batch])

    return await stub.IngestSamples(requests())


async def test_backfilled_week_is_queryable_hourly_with_exact_rollups(start_alerting: StartAlerting) -> None:
    alerting = await start_alerting(clock=ManualClock(NOW))
    start = NOW - 7 * DAY
    # One sample a minute for a week: memory grows by one byte a minute.
    samples = [sample("memory_working_set", 1e8 + i, start + 60 * i, "prod") for i in range(7 * 1440)]
    response = await ingest(alerting.stub, samples)
    assert (response.accepted, response.rejected, response.history_skipped) == (7 * 1440, 0, 0)

    daily = await alerting.stub.QueryMetricHistory(
        pb.QueryMetricHistoryRequest(
            service="checkout",
            environment="prod",
            metric="memory_working_set",
            start_time=ts(start),
            end_time=ts(NOW),
            step=duration_pb2.Duration(seconds=DAY),
            quantiles=[0.5, 1.0],
        )
    )
    assert daily.source == "embedded" and daily.step.seconds == DAY
    assert [p.count for p in daily.points] == [1440] * 7
    assert [p.max for p in daily.points] == [1e8 + 1440 * d + 1439 for d in range(7)]
    assert daily.points[0].min == 1e8 and daily.points[0].mean == pytest.approx(1e8 + 719.5)
    assert daily.points[0].quantile_values[0] == pytest.approx(1e8 + 720, rel=0.025)

    # Another environment's series is separate and empty.
    other = await alerting.stub.QueryMetricHistory(
        pb.QueryMetricHistoryRequest(service="checkout", metric="memory_working_set", start_time=ts(start))
    )
    assert list(other.points) == []


async def test_fine_buckets_carry_histograms(start_alerting: StartAlerting) -> None:
    alerting = await start_alerting(clock=ManualClock(NOW))
    start = NOW - 3600
    await ingest(alerting.stub, [sample("cpu_usage", 0.1 * (i % 10), start + 30 * i) for i in range(120)])
    result = await alerting.stub.QueryMetricHistory(
        pb.QueryMetricHistoryRequest(
            service="checkout",
            metric="cpu_usage",
            start_time=ts(start),
            end_time=ts(NOW),
            include_histogram=True,
        )
    )
    assert result.step.seconds == 300 and len(result.points) == 12
    assert all(p.count == 10 for p in result.points)
    assert sum(b.count for b in result.points[0].buckets) == 10
    assert all(b.lower < b.upper for b in result.points[0].buckets)


async def test_resent_and_expired_samples_are_skipped_by_history_only(start_alerting: StartAlerting) -> None:
    alerting = await start_alerting(clock=ManualClock(NOW))
    batch = [sample("requests_per_second", 10.0, NOW - 600 + 60 * i) for i in range(10)]
    await ingest(alerting.stub, batch)
    # A retried batch (its tail, an instant already stored, and an instant long gone).
    again = await ingest(alerting.stub, [*batch[5:], sample("requests_per_second", 1.0, NOW - 200 * DAY)])
    assert again.accepted == 6 and again.history_skipped == 5  # the newest instant is taken again
    assert any("time order" in error for error in again.errors)
    assert any("retention window" in error for error in again.errors)
    result = await alerting.stub.QueryMetricHistory(
        pb.QueryMetricHistoryRequest(
            service="checkout", metric="requests_per_second", start_time=ts(NOW - 3600), end_time=ts(NOW)
        )
    )
    assert sum(p.count for p in result.points) == 11  # 10 + the repeated newest instant


async def test_bad_queries_name_the_field_and_rule(start_alerting: StartAlerting) -> None:
    alerting = await start_alerting(clock=ManualClock(NOW))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await alerting.stub.QueryMetricHistory(
            pb.QueryMetricHistoryRequest(
                service="Bad_Name",
                metric="nope",
                start_time=ts(NOW),
                end_time=ts(NOW - 10),
                step=duration_pb2.Duration(seconds=7),
                quantiles=[1.5],
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = raised.value.details() or ""
    assert "history query is invalid" in details


async def test_prune_keeps_history_bounded(start_alerting: StartAlerting) -> None:
    clock = ManualClock(NOW)
    alerting = await start_alerting(clock=clock, history_fine_days=1, history_coarse_days=3)
    await ingest(alerting.stub, [sample("cpu_usage", 1.0, NOW - 3600 * h) for h in range(71, -1, -1)])
    clock.set(NOW + 2 * DAY)
    assert alerting.app.history is not None
    await alerting.app.history.prune()
    async with alerting.database.connect() as connection:
        rows = (
            await connection.execute(
                text("select resolution, min(bucket_start) from metric_rollups group by 1")
            )
        ).all()
    oldest = dict(rows)
    assert 300 not in oldest or oldest[300] >= NOW + DAY
    assert oldest[3600] >= NOW - DAY


async def test_prometheus_range_api_is_the_source_when_configured(
    start_alerting: StartAlerting, http_recorder: Callable[[], Any]
) -> None:
    prometheus = http_recorder()

    def answer(method: str, path: str, body: Any) -> tuple[int, Any]:
        params = parse_qs(urlparse(path).query)
        start, end, step = (float(params[k][0]) for k in ("start", "end", "step"))
        times = [start + step * i for i in range(int((end - start) // step) + 1)]
        # Two pods, one using twice the other's memory.
        result = [
            {"metric": {"service": "checkout", "pod": pod}, "values": [[t, str(scale * 1e8)] for t in times]}
            for pod, scale in (("a", 1), ("b", 2))
        ]
        return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}

    prometheus.responder = answer
    alerting = await start_alerting(clock=ManualClock(NOW), prometheus_url=prometheus.url)
    result = await alerting.stub.QueryMetricHistory(
        pb.QueryMetricHistoryRequest(
            service="checkout",
            environment="prod",
            metric="memory_working_set",
            start_time=ts(NOW - DAY),
            end_time=ts(NOW),
            step=duration_pb2.Duration(seconds=3600),
        )
    )
    assert result.source == "prometheus" and len(result.points) == 24
    assert all(p.count == 24 and p.min == 1e8 and p.max == 2e8 for p in result.points)
    query = parse_qs(urlparse(prometheus.received[0].path).query)["query"][0]
    assert 'service="checkout",environment="prod"' in query and "by (service, pod)" in query

    prometheus.default_status = 503
    prometheus.responder = None
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await alerting.stub.QueryMetricHistory(
            pb.QueryMetricHistoryRequest(service="checkout", metric="cpu_usage", start_time=ts(NOW - 3600))
        )
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
