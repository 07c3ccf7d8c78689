"""A service's usage history as the recommender reads it, and the decaying histogram it is summarised with.

Points come from the metric history (alerting's roll-ups or Prometheus): per step, how many samples, the
largest, and a histogram of the values. Nothing here knows where they came from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

DAY = 86400.0


@dataclass(frozen=True)
class UsagePoint:
    """The samples of one metric over one step: count, maximum and histogram (value → count)."""

    time: float
    count: float
    maximum: float
    histogram: Mapping[float, float]
    mean: float = 0.0


@dataclass(frozen=True)
class UsageHistory:
    """What the recommender knows about a service at ``now``; per-instance CPU (cores) and memory (bytes)."""

    now: float
    cpu: Sequence[UsagePoint] = ()
    memory: Sequence[UsagePoint] = ()
    oom_kill_times: Sequence[float] = ()
    throttling: Sequence[tuple[float, float]] = ()  # (time, share of periods throttled)
    replicas: Sequence[tuple[float, float]] = ()  # (time, instances)
    requests_per_second: Sequence[tuple[float, float]] = ()


@dataclass
class DecayingHistogram:
    """Weighted values whose weight halves every ``half_life`` seconds into the past (VPA's histograms)."""

    half_life: float
    now: float
    weights: dict[float, float] = field(default_factory=dict)

    def add(self, value: float, weight: float, time: float) -> None:
        """Count ``value`` observed at ``time`` with ``weight``."""
        if weight <= 0 or not math.isfinite(value):
            return
        decay = 2.0 ** ((time - self.now) / self.half_life)
        self.weights[value] = self.weights.get(value, 0.0) + weight * decay

    def add_points(self, points: Iterable[UsagePoint]) -> None:
        """Count every value of every point."""
        for point in points:
            for value, count in point.histogram.items():
                self.add(value, count, point.time)

    def percentile(self, q: float) -> float:
        """The weighted ``q`` quantile (0 when empty)."""
        total = sum(self.weights.values())
        if total <= 0:
            return 0.0
        running = 0.0
        ordered = sorted(self.weights)
        for value in ordered:
            running += self.weights[value]
            if running >= q * total * (1 - 1e-12):
                return value
        return ordered[-1]

    @property
    def empty(self) -> bool:
        """Whether nothing was counted."""
        return not self.weights


def confidence(points: Sequence[UsagePoint], samples_per_day: float = 1440.0) -> float:
    """VPA's confidence: the lesser of days from first to last sample and samples / (one a minute)."""
    counted = [p for p in points if p.count > 0]
    if not counted:
        return 0.0
    lifespan_days = (max(p.time for p in counted) - min(p.time for p in counted)) / DAY
    samples = sum(p.count for p in counted) / samples_per_day
    return min(lifespan_days, samples)


def daily_peaks(points: Sequence[UsagePoint], now: float, days: int) -> list[tuple[float, float]]:
    """(window start, largest value) per 24-hour window counted back from ``now``, for the last ``days``."""
    peaks: dict[int, float] = {}
    for point in points:
        window = math.floor((now - point.time) / DAY)
        if 0 <= window < days and point.count > 0:
            peaks[window] = max(peaks.get(window, 0.0), point.maximum)
    return [(now - (window + 1) * DAY, peaks[window]) for window in sorted(peaks, reverse=True)]


def values_since(series: Sequence[tuple[float, float]], since: float) -> list[float]:
    """Values of a (time, value) series at or after ``since``."""
    return [value for time, value in series if time >= since]
