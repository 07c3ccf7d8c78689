"""Usage history of a service, asked of alerting (the history's one owner) over gRPC; cost keeps no copy."""

from __future__ import annotations

import asyncio

import grpc.aio
from google.protobuf import duration_pb2, timestamp_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved_kit.client import LazyChannel
from paved_kit.errors import FailedPrecondition, PreconditionViolation, Unavailable
from paved_kit.grpc_errors import error_details

from paved_cost.usage import DAY, UsageHistory, UsagePoint

FINE_STEP = 300
HISTORY_DAYS = 8  # VPA's memory window; CPU's 24 h half-life makes older samples negligible


class AlertingHistory:
    """Reads CPU, memory, OOM kills, throttling and replicas of a service from alerting's history."""

    def __init__(self, channel: LazyChannel | None, timeout: float) -> None:
        self._channel = channel
        self._timeout = timeout

    async def usage(self, service: str, environment: str, now: float) -> tuple[UsageHistory, str]:
        """The last 8 days of the service's usage, and the history's source (embedded or prometheus)."""
        if self._channel is None:
            raise FailedPrecondition(
                "no alerting address is configured, so usage history cannot be read",
                [
                    PreconditionViolation(
                        "CONFIGURATION",
                        "PAVED_COST_ALERTING_ADDRESS",
                        "set it to alerting's host:port (it owns the metric history)",
                    )
                ],
                reason="HISTORY_DISABLED",
            )
        stub = alerting_pb2_grpc.AlertingServiceStub(self._channel.get())
        start = now - HISTORY_DAYS * DAY
        names = ("cpu_usage", "memory_working_set", "oom_kills", "cpu_throttling", "replicas")
        answers = await asyncio.gather(
            *(self._query(stub, service, environment, name, start, now) for name in names)
        )
        cpu, memory, ooms, throttling, replicas = answers
        history = UsageHistory(
            now=now,
            cpu=_usage_points(cpu),
            memory=_usage_points(memory),
            oom_kill_times=[_seconds(p.time) for p in ooms.points if p.max > 0],
            throttling=[(_seconds(p.time), p.mean) for p in throttling.points if p.count],
            replicas=[(_seconds(p.time), p.mean) for p in replicas.points if p.count],
        )
        return history, cpu.source

    async def _query(
        self,
        stub: alerting_pb2_grpc.AlertingServiceStub,
        service: str,
        environment: str,
        metric: str,
        start: float,
        end: float,
    ) -> alerting_pb2.QueryMetricHistoryResponse:
        request = alerting_pb2.QueryMetricHistoryRequest(
            service=service,
            environment=environment,
            metric=metric,
            start_time=_timestamp(start),
            end_time=_timestamp(end),
            step=duration_pb2.Duration(seconds=FINE_STEP),
            include_histogram=True,
        )
        try:
            response: alerting_pb2.QueryMetricHistoryResponse = await stub.QueryMetricHistory(
                request, timeout=self._timeout
            )
        except grpc.aio.AioRpcError as err:
            details = error_details(err)
            raise Unavailable(
                f"alerting could not give the usage history ({details.code.name}: {details.message})",
                reason="HISTORY_SOURCE_UNAVAILABLE",
            ) from None
        return response


def _usage_points(response: alerting_pb2.QueryMetricHistoryResponse) -> list[UsagePoint]:
    points = []
    for point in response.points:
        histogram: dict[float, float] = {}
        for bucket in point.buckets:
            # The bucket's value is the harmonic middle of its bounds (the sketch's own estimate).
            value = (
                0.0
                if bucket.upper <= 1e-9
                else 2 * bucket.lower * bucket.upper / (bucket.lower + bucket.upper)
            )
            histogram[value] = histogram.get(value, 0.0) + bucket.count
        points.append(UsagePoint(_seconds(point.time), point.count, point.max, histogram, point.mean))
    return points


def _seconds(value: timestamp_pb2.Timestamp) -> float:
    return value.seconds + value.nanos / 1e9


def _timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    whole = int(seconds)
    return timestamp_pb2.Timestamp(seconds=whole, nanos=int((seconds - whole) * 1e9))
