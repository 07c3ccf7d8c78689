"""Recent metric samples per (service, environment, metric) series, in memory, bounded, built for fast
lookups. A sample that names no environment belongs to the default one.

Each series keeps its last ``window`` samples in time order (a ring buffer), so memory is bounded by
series times window and reading the value at an evaluation time is usually one comparison.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from paved_alerting.metrics import METRICS
from paved_alerting.rules import DEFAULT_ENVIRONMENT

SeriesKey = tuple[str, str, str]
#: (service, metric, value, time) or (service, metric, value, time, environment).
SampleTuple = tuple[str, str, float, float] | tuple[str, str, float, float, str]


@dataclass(frozen=True)
class Sample:
    """One observation of a metric of a service at a time (seconds since the epoch)."""

    service: str
    metric: str
    value: float
    time: float
    environment: str = DEFAULT_ENVIRONMENT


class Series:
    """The last samples of one series, oldest first."""

    __slots__ = ("times", "values")

    def __init__(self, window: int) -> None:
        self.times: deque[float] = deque(maxlen=window)
        self.values: deque[float] = deque(maxlen=window)

    def add(self, time: float, value: float) -> None:
        """Append a sample; a late one (older than the newest) is put in order, a repeated time overwrites."""
        times = self.times
        if not times or time > times[-1]:
            times.append(time)
            self.values.append(value)
            return
        index = bisect_left(times, time)
        if index < len(times) and times[index] == time:
            self.values[index] = value
            return
        if len(times) == times.maxlen:
            if index == 0:
                return  # older than everything the window keeps
            times.popleft()
            self.values.popleft()
            index -= 1
        times.insert(index, time)
        self.values.insert(index, value)

    def value_at(self, time: float, lookback: float) -> float | None:
        """The newest value at or before ``time`` and no older than ``lookback`` seconds, else None."""
        times = self.times
        if not times:
            return None
        newest = times[-1]
        if newest <= time:
            return self.values[-1] if time - newest <= lookback else None
        for index in range(len(times) - 2, -1, -1):
            if times[index] <= time:
                return self.values[index] if time - times[index] <= lookback else None
        return None

    def newest_time(self) -> float | None:
        """Time of the newest sample, if any."""
        return self.times[-1] if self.times else None


@dataclass
class IngestResult:
    """How a batch went: samples stored, rejected, and the first few reasons."""

    accepted: int = 0
    rejected: int = 0
    errors: list[str] | None = None

    def reject(self, reason: str, keep: int) -> None:
        """Count a rejection, keeping the first ``keep`` reasons."""
        self.rejected += 1
        if self.errors is None:
            self.errors = []
        if len(self.errors) < keep:
            self.errors.append(reason)


class SampleStore:
    """Series by (service, environment, metric); ``lookback``: how old a sample may be and still count
    (Prometheus: 5m)."""

    def __init__(
        self,
        window: int = 32,
        lookback_seconds: float = 300.0,
        max_errors: int = 10,
        max_series: int = 1_000_000,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self.window = window
        self.max_series = max_series
        self.lookback = lookback_seconds
        self.max_errors = max_errors
        self.series: dict[SeriesKey, Series] = {}

    def add(
        self, service: str, metric: str, value: float, time: float, environment: str = DEFAULT_ENVIRONMENT
    ) -> None:
        """Store one sample that is known to be valid."""
        key = (service, environment or DEFAULT_ENVIRONMENT, metric)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = Series(self.window)
        series.add(time, value)

    def ingest(self, samples: Iterable[SampleTuple], result: IngestResult | None = None) -> IngestResult:
        """Validate and store (service, metric, value, time[, environment]) tuples; bad ones are counted,
        not stored."""
        result = result or IngestResult()
        known = METRICS
        series_map = self.series
        window = self.window
        accepted = 0
        for index, sample in enumerate(samples):
            service, metric, value, time = sample[0], sample[1], sample[2], sample[3]
            environment = (sample[4] if len(sample) > 4 else "") or DEFAULT_ENVIRONMENT
            if metric not in known:
                result.reject(f"samples[{index}].metric: unknown metric {metric!r}", self.max_errors)
                continue
            if not service:
                result.reject(f"samples[{index}].service: required", self.max_errors)
                continue
            if not math.isfinite(value):
                result.reject(f"samples[{index}].value: must be a finite number", self.max_errors)
                continue
            key = (service, environment, metric)
            series = series_map.get(key)
            if series is None:
                if len(series_map) >= self.max_series:
                    result.reject(
                        f"samples[{index}]: series limit of {self.max_series} reached", self.max_errors
                    )
                    continue
                series = series_map[key] = Series(window)
            series.add(time, value)
            accepted += 1
        result.accepted += accepted
        return result

    def value_at(
        self, service: str, metric: str, time: float, environment: str = DEFAULT_ENVIRONMENT
    ) -> float | None:
        """The value of a series at ``time`` (Prometheus' instant-vector lookback), or None without data."""
        series = self.series.get((service, environment or DEFAULT_ENVIRONMENT, metric))
        return series.value_at(time, self.lookback) if series is not None else None

    def newest_time(
        self, service: str, metrics: Iterable[str], environment: str = DEFAULT_ENVIRONMENT
    ) -> float | None:
        """Time of the newest sample of any of ``metrics`` of ``service`` in ``environment``."""
        environment = environment or DEFAULT_ENVIRONMENT
        times = [
            t
            for metric in metrics
            if (series := self.series.get((service, environment, metric))) is not None
            and (t := series.newest_time()) is not None
        ]
        return max(times) if times else None

    def forget_service(self, service: str, environment: str = "") -> None:
        """Drop every series of ``service`` (of one of its environments when given): its rules are gone."""
        for key in [
            key for key in self.series if key[0] == service and (not environment or key[1] == environment)
        ]:
            del self.series[key]
