"""The metric history's owner: records ingested samples as roll-ups, answers history queries, prunes.

Queries go to the configured Prometheus-compatible server when there is one, otherwise to the roll-ups
in the alerting database. Other services (cost's recommender, forecasts, anomaly detection) ask here over
gRPC and keep no copy of their own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from paved_kit.errors import FieldViolation, InvalidArgument
from paved_kit.logging import get_logger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_alerting import history_store
from paved_alerting.clock import Clock
from paved_alerting.history import (
    COARSE,
    FINE,
    RESOLUTIONS,
    Admission,
    HistoryQuery,
    Point,
    Retention,
    admit,
    regroup,
    resolution_for,
)
from paved_alerting.metrics import METRICS
from paved_alerting.prometheus_history import MAX_POINTS, PrometheusHistory
from paved_alerting.rules import SERVICE_NAME

_log = get_logger(__name__)

RawSample = tuple[str, str, float, float, str]  # service, metric, value, time, environment


@dataclass(frozen=True)
class HistoryResult:
    """Points of a query and where they came from (``embedded`` or ``prometheus``)."""

    query: HistoryQuery
    source: str
    points: list[Point]


class MetricHistory:
    """Roll-ups in the service's database, or a Prometheus-compatible server when configured."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        retention: Retention,
        *,
        prometheus: PrometheusHistory | None = None,
        max_reasons: int = 10,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.retention = retention
        self._prometheus = prometheus
        self._max_reasons = max_reasons

    async def record(self, samples: Sequence[RawSample]) -> Admission:
        """Roll a batch into history; samples the live path rejects are left out (it reports them)."""
        valid = [
            (index, service, environment, metric, value, time)
            for index, (service, metric, value, time, environment) in enumerate(samples)
            if metric in METRICS and service and math.isfinite(value)
        ]
        named = []
        rejected = Admission()
        for item in valid:
            index, service, environment = item[0], item[1], item[2]
            if not SERVICE_NAME.match(service):
                rejected.skip(
                    f"samples[{index}].service: history keeps DNS-1123 labels only", self._max_reasons
                )
            elif environment and not SERVICE_NAME.match(environment):
                rejected.skip(f"samples[{index}].environment: must be a DNS-1123 label", self._max_reasons)
            else:
                named.append(item)
        if not named:
            return rejected
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            series = {(service, environment, metric) for _, service, environment, metric, _, _ in named}
            newest = await history_store.newest_times(session=session, series=series)
            admission = admit(named, newest, now, self.retention, self._max_reasons)
            if admission.deltas:
                await history_store.merge_buckets(session=session, deltas=admission.deltas)
                await history_store.record_newest(session=session, newest=admission.newest, existing=newest)
        admission.skipped += rejected.skipped
        admission.reasons = (rejected.reasons + admission.reasons)[: self._max_reasons]
        return admission

    def validate(
        self,
        service: str,
        environment: str,
        metric: str,
        start: float | None,
        end: float | None,
        step: int | None,
    ) -> HistoryQuery:
        """A query checked field by field; default: the last 8 days, hourly (5-minute steps up to 2 days)."""
        now = self._clock.now()
        end_time = end if end is not None else now
        start_time = start if start is not None else end_time - 8 * 86400
        violations = []
        if not SERVICE_NAME.match(service):
            violations.append(FieldViolation("service", "required; a DNS-1123 label"))
        if environment and not SERVICE_NAME.match(environment):
            violations.append(FieldViolation("environment", "a DNS-1123 label, or empty"))
        if metric not in METRICS:
            violations.append(
                FieldViolation("metric", f"unknown metric {metric!r}; known metrics: {', '.join(METRICS)}")
            )
        if end_time <= start_time:
            violations.append(FieldViolation("end_time", "must be after start_time"))
        chosen = step or (FINE if end_time - start_time <= 2 * 86400 else COARSE)
        if chosen % FINE != 0:
            violations.append(FieldViolation("step", "a multiple of 5 minutes (300s)"))
        elif end_time > start_time and (end_time - start_time) / chosen > MAX_POINTS:
            violations.append(
                FieldViolation("step", f"too small for the range: at most {MAX_POINTS} points per query")
            )
        if violations:
            raise InvalidArgument("history query is invalid", violations)
        return HistoryQuery(service, environment, metric, start_time, end_time, chosen)

    async def query(self, query: HistoryQuery) -> HistoryResult:
        """The points of a validated query."""
        if self._prometheus is not None:
            points = await self._prometheus.points(
                query.service, query.environment, query.metric, query.start, query.end, query.step
            )
            return HistoryResult(query, "prometheus", points)
        resolution = resolution_for(query.step)
        async with self._sessions() as session:
            stored = await history_store.read_buckets(
                session=session,
                series=(query.service, query.environment, query.metric),
                resolution=resolution,
                start=query.start - query.start % resolution,
                end=query.end,
            )
        return HistoryResult(query, "embedded", regroup(stored, query.step))

    async def prune(self) -> int:
        """Delete buckets past their resolution's retention; returns how many."""
        now = self._clock.now()
        deleted = 0
        async with self._sessions() as session, session.begin():
            for resolution in RESOLUTIONS:
                deleted += await history_store.prune(
                    session=session, resolution=resolution, before=now - self.retention.keeps(resolution)
                )
            await history_store.forget_series_before(session=session, before=now - self.retention.oldest)
        if deleted:
            _log.info("metric history pruned", buckets=deleted)
        return deleted

    async def hourly_means(
        self, services: Sequence[str], environment: str, metrics: Sequence[str], start: float, end: float
    ) -> dict[tuple[str, str], dict[int, float]]:
        """Hourly means in ``[start, end)`` by (service, metric) and hour start; one bulk read of the
        roll-ups, or one range query per series from the configured Prometheus-compatible server."""
        if self._prometheus is not None:
            found: dict[tuple[str, str], dict[int, float]] = {}
            for service in services:
                for metric in metrics:
                    points = await self._prometheus.points(service, environment, metric, start, end, COARSE)
                    found[(service, metric)] = {int(p.start): p.bucket.mean for p in points if p.bucket.count}
            return found
        async with self._sessions() as session:
            return await history_store.hourly_means(
                session=session,
                services=services,
                environment=environment,
                metrics=metrics,
                start=start,
                end=end,
            )
