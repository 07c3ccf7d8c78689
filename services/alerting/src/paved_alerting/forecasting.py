"""Forecasts of a service's metric history: hourly points with prediction intervals, their rolling-origin
backtest, and for request rate and CPU a predictive-scaling schedule with its shadow report.

Orchestrates :mod:`paved_alerting.forecast` (the model) and :mod:`paved_alerting.scaling` over the hourly
means of :class:`MetricHistory`; the model fits run in a worker thread.
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from paved_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, PreconditionViolation

from paved_alerting.clock import Clock
from paved_alerting.hourly import HOUR, hour_start, interpolated, regular, trimmed
from paved_alerting.metric_history import MetricHistory
from paved_alerting.metrics import METRICS
from paved_alerting.rules import SERVICE_NAME

if TYPE_CHECKING:
    from paved_alerting import forecast as model

SCALABLE = ("requests_per_second", "cpu")
MAX_HORIZON_HOURS = 336
DEFAULT_HORIZON_HOURS = 24
BACKTEST_HORIZON_HOURS = 24
SHADOW_HOURS = 24
DEFAULT_MAX_REPLICAS = 10
RECENT_FORECASTS = 256


@dataclass(frozen=True)
class ForecastQuery:
    service: str
    environment: str
    metric: str
    horizon: int
    confidence: float
    capacity: float
    min_replicas: int
    max_replicas: int


@dataclass(frozen=True)
class Schedule:
    mode: str
    reason: str
    capacity: float
    capacity_source: str
    hours: list[tuple[int, int, float]]  # hour start, min replicas, forecast upper bound
    shadow: list[tuple[float, int, float | None, float]]  # hour start, would set, observed replicas, load


@dataclass(frozen=True)
class ForecastResult:
    query: ForecastQuery
    first_hour: float
    result: model.Forecast
    backtest: model.Backtest
    history_hours: int
    schedule: Schedule | None = None
    notes: list[str] = field(default_factory=list)


def validate(
    service: str,
    environment: str,
    metric: str,
    horizon: int,
    confidence: float,
    capacity: float,
    min_replicas: int,
    max_replicas: int,
) -> ForecastQuery:
    """A forecast request checked field by field (every problem at once)."""
    violations = []
    if not SERVICE_NAME.match(service):
        violations.append(FieldViolation("service", "required; a DNS-1123 label"))
    if environment and not SERVICE_NAME.match(environment):
        violations.append(FieldViolation("environment", "a DNS-1123 label, or empty"))
    if metric not in METRICS:
        violations.append(
            FieldViolation("metric", f"unknown metric {metric!r}; known metrics: {', '.join(METRICS)}")
        )
    horizon = horizon or DEFAULT_HORIZON_HOURS
    if not 1 <= horizon <= MAX_HORIZON_HOURS:
        violations.append(FieldViolation("horizon_hours", f"must be between 1 and {MAX_HORIZON_HOURS} hours"))
    confidence = confidence or 0.9
    if not 0.5 <= confidence <= 0.99:
        violations.append(FieldViolation("confidence", "must be between 0.5 and 0.99"))
    if capacity < 0 or not math.isfinite(capacity):
        violations.append(
            FieldViolation("capacity_per_replica", "must be a positive number, or 0 to learn it")
        )
    min_replicas = min_replicas or 1
    max_replicas = max_replicas or max(DEFAULT_MAX_REPLICAS, min_replicas)
    if min_replicas < 1:
        violations.append(FieldViolation("min_replicas", "must be at least 1"))
    if max_replicas < min_replicas:
        violations.append(FieldViolation("max_replicas", "must be at least min_replicas"))
    if violations:
        raise InvalidArgument("cannot forecast", violations)
    return ForecastQuery(
        service, environment, metric, horizon, confidence, capacity, min_replicas, max_replicas
    )


class Forecaster:
    """Forecasts from the metric history."""

    def __init__(
        self, history: MetricHistory, clock: Clock, *, history_days: float, mape_threshold: float
    ) -> None:
        self._history = history
        self._clock = clock
        self.hours = int(history_days * 24)
        self.mape_threshold = mape_threshold
        # A forecast only changes when an hour completes: the last ones are kept for the rest of their hour.
        self._recent: OrderedDict[tuple[ForecastQuery, int], ForecastResult] = OrderedDict()

    async def forecast(self, query: ForecastQuery) -> ForecastResult:
        """The forecast of ``query`` from the complete hours of history before now."""
        current = hour_start(self._clock.now())
        key = (query, current)
        if key in self._recent:
            self._recent.move_to_end(key)
            return self._recent[key]
        result = await self._compute(query, current)
        self._recent[key] = result
        while len(self._recent) > RECENT_FORECASTS:
            self._recent.popitem(last=False)
        return result

    async def _compute(self, query: ForecastQuery, current: int) -> ForecastResult:
        # Imported on the first forecast: the model loads numpy (~50 ms of start-up), which a service nobody
        # asks for forecasts never needs.
        from paved_alerting import forecast as model

        first = current - HOUR * self.hours
        metrics = [query.metric] + (["replicas"] if query.metric in SCALABLE else [])
        means = await self._history.hourly_means([query.service], query.environment, metrics, first, current)
        raw, start = trimmed(regular(means.get((query.service, query.metric), {}), first, self.hours), first)
        present = sum(1 for value in raw if not math.isnan(value))
        minimum = 2 * 24
        if len(raw) < minimum or present < len(raw) / 2:
            raise FailedPrecondition(
                f"{query.service} has too little {query.metric} history to forecast",
                [
                    PreconditionViolation(
                        "HISTORY",
                        "metric",
                        f"needs at least {minimum} hours of {query.metric} history with most hours recorded; "
                        f"has {present} hours",
                    )
                ],
                reason="NOT_ENOUGH_HISTORY",
            )
        values = interpolated(raw)
        # Forecast from the end of the history up to now: hours with no samples at the end count as ahead.
        gap = (current - (start + HOUR * len(values))) // HOUR
        horizon = query.horizon + int(gap)
        period = 168 if len(values) >= 2 * 168 else 24
        if horizon > model.MAX_HORIZON_PERIODS * period:
            raise InvalidArgument(
                "cannot forecast",
                [
                    FieldViolation(
                        "horizon_hours",
                        f"at most {model.MAX_HORIZON_PERIODS * period - int(gap)} hours with "
                        f"{len(values)} hours of history",
                    )
                ],
            )
        settings = model.ForecastSettings(confidence=query.confidence)
        result = await asyncio.to_thread(model.forecast, values, horizon, settings)
        backtest = await asyncio.to_thread(
            model.backtest, values, min(BACKTEST_HORIZON_HOURS, query.horizon), settings
        )
        ahead = model.Forecast(
            mean=result.mean[int(gap) :],
            lower=result.lower[int(gap) :],
            upper=result.upper[int(gap) :],
            period=period,
        )
        schedule = None
        if query.metric in SCALABLE:
            replicas = regular(means.get((query.service, "replicas"), {}), start, len(values))
            schedule = await asyncio.to_thread(
                self._schedule, query, start, values, replicas, ahead, backtest, settings
            )
        return ForecastResult(query, float(current), ahead, backtest, len(values), schedule)

    def _schedule(
        self,
        query: ForecastQuery,
        start: int,
        values: list[float],
        replicas: list[float],
        ahead: model.Forecast,
        backtest: model.Backtest,
        settings: model.ForecastSettings,
    ) -> Schedule:
        from paved_alerting import forecast as model  # numpy, as in _compute
        from paved_alerting import scaling

        capacity, source = query.capacity, "requested"
        if not capacity:
            learned = scaling.learned_capacity(values, replicas)
            if learned is None:
                return Schedule(
                    "shadow",
                    "no replicas history to learn the capacity of one replica: send the `replicas` metric "
                    "or give capacity_per_replica",
                    0.0,
                    "unknown",
                    [],
                    [],
                )
            capacity, source = learned, "learned"
        mode, reason = scaling.mode(backtest, self.mape_threshold)
        current = hour_start(self._clock.now())
        counts = scaling.schedule(ahead.upper, capacity, query.min_replicas, query.max_replicas)
        hours = [(current + HOUR * i, count, ahead.upper[i]) for i, count in enumerate(counts)]
        shadow: list[tuple[float, int, float | None, float]] = []
        past = values[:-SHADOW_HOURS]
        if len(past) >= 2 * 24:
            earlier = model.forecast(past, SHADOW_HOURS, settings)
            would = scaling.schedule(earlier.upper, capacity, query.min_replicas, query.max_replicas)
            day_start = start + HOUR * len(past)
            for i, count in enumerate(would):
                observed = replicas[len(past) + i]
                shadow.append(
                    (
                        day_start + HOUR * i,
                        count,
                        None if math.isnan(observed) else observed,
                        values[len(past) + i],
                    )
                )
        return Schedule(mode, reason, capacity, source, hours, shadow)
