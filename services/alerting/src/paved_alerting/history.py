"""Bounded metric history: samples rolled up into 5-minute and 1-hour buckets per series (pure logic).

A series is (service, environment, metric); ``environment`` is empty where a service has none. Each bucket
keeps count, sum, min, max and a mergeable sketch (:mod:`paved_alerting.sketch`) for percentiles, so a
query over any span merges buckets exactly and the stored size per series is fixed by the retention.
Samples of a series must arrive in time order (equal times allowed: several instances report at once); a
resent batch is therefore refused instead of being counted twice, the rule Prometheus' TSDB applies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from paved_alerting import sketch

FINE = 300  # seconds per fine bucket
COARSE = 3600  # seconds per coarse bucket
RESOLUTIONS = (FINE, COARSE)
FUTURE_TOLERANCE = 300.0  # how far ahead of the clock a sample may be (clock skew)

SeriesId = tuple[str, str, str]  # service, environment, metric
BucketKey = tuple[str, str, str, int, int]  # series + resolution + bucket start


@dataclass(frozen=True)
class Retention:
    """How long each resolution is kept, in seconds."""

    fine_seconds: float
    coarse_seconds: float

    def keeps(self, resolution: int) -> float:
        """Seconds the buckets of ``resolution`` are kept."""
        return self.fine_seconds if resolution == FINE else self.coarse_seconds

    @property
    def oldest(self) -> float:
        """How far back any history goes."""
        return max(self.fine_seconds, self.coarse_seconds)


@dataclass
class Bucket:
    """The roll-up of one series over one bucket of time."""

    count: int = 0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    sketch: dict[int, float] = field(default_factory=dict)

    def add(self, value: float) -> None:
        """Count one sample."""
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        sketch.add_value(self.sketch, value)

    def merge(self, other: Bucket) -> None:
        """Fold another bucket of the same series into this one."""
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        sketch.merge(self.sketch, other.sketch)

    @property
    def mean(self) -> float:
        """Average of the samples (0 when empty)."""
        return self.total / self.count if self.count else 0.0


@dataclass(frozen=True)
class HistoryQuery:
    """A validated history query: a series, a range ``[start, end)`` and the width of each point."""

    service: str
    environment: str
    metric: str
    start: float
    end: float
    step: int


@dataclass(frozen=True)
class Point:
    """A query result: the roll-up of a series over ``[start, start + step)``."""

    start: float
    bucket: Bucket


@dataclass
class Admission:
    """Samples of one batch sorted into what history takes and what it skips (with reasons)."""

    deltas: dict[BucketKey, Bucket] = field(default_factory=dict)
    newest: dict[SeriesId, float] = field(default_factory=dict)
    accepted: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)

    def skip(self, reason: str, keep: int) -> None:
        """Count a sample history did not take."""
        self.skipped += 1
        if len(self.reasons) < keep:
            self.reasons.append(reason)


def bucket_start(time: float, resolution: int) -> int:
    """Start of the bucket of ``resolution`` that ``time`` falls in (aligned to the epoch)."""
    return int(time // resolution) * resolution


def admit(
    samples: Iterable[tuple[int, str, str, str, float, float]],
    newest: Mapping[SeriesId, float],
    now: float,
    retention: Retention,
    keep_reasons: int = 10,
) -> Admission:
    """Roll a batch of already-validated (index, service, environment, metric, value, time) samples into
    bucket deltas, skipping those outside the retention window or out of order for their series.

    ``newest`` is the newest time already stored per series.
    """
    admission = Admission()
    oldest_allowed = now - retention.oldest
    for index, service, environment, metric, value, time in samples:
        series = (service, environment, metric)
        if time < oldest_allowed:
            admission.skip(
                f"samples[{index}].time: older than the history retention window "
                f"({retention.oldest / 86400:g} days); not kept in history",
                keep_reasons,
            )
            continue
        if time > now + FUTURE_TOLERANCE:
            admission.skip(f"samples[{index}].time: more than 5 minutes in the future", keep_reasons)
            continue
        last = admission.newest.get(series, newest.get(series))
        if last is not None and time < last:
            admission.skip(
                f"samples[{index}].time: older than the newest sample of {service}/{metric} in history; "
                "send each series in time order (backfill before live samples)",
                keep_reasons,
            )
            continue
        if value < 0:
            admission.skip(f"samples[{index}].value: history keeps non-negative values", keep_reasons)
            continue
        admission.newest[series] = time
        for resolution in RESOLUTIONS:
            if time < now - retention.keeps(resolution):
                continue
            key = (service, environment, metric, resolution, bucket_start(time, resolution))
            bucket = admission.deltas.get(key)
            if bucket is None:
                bucket = admission.deltas[key] = Bucket()
            bucket.add(value)
        admission.accepted += 1
    return admission


def resolution_for(step: int) -> int:
    """The stored resolution a query with ``step`` seconds reads: hourly buckets when the step allows."""
    return COARSE if step % COARSE == 0 else FINE


def regroup(buckets: Sequence[tuple[int, Bucket]], step: int) -> list[Point]:
    """Merge stored (start, bucket) pairs, oldest first, into points ``step`` seconds wide."""
    points: list[Point] = []
    for start, stored in buckets:
        group = bucket_start(start, step)
        if not points or points[-1].start != group:
            points.append(Point(group, Bucket()))
        points[-1].bucket.merge(stored)
    return points


def points_from_instants(rows: Iterable[tuple[float, float]], step: int) -> list[Point]:
    """Points from (time, value) instants (several per time when a series has several instances)."""
    by_group: dict[int, Bucket] = {}
    for time, value in rows:
        if not math.isfinite(value) or value < 0:
            continue
        group = bucket_start(time, step)
        bucket = by_group.get(group)
        if bucket is None:
            bucket = by_group[group] = Bucket()
        bucket.add(value)
    return [Point(start, by_group[start]) for start in sorted(by_group)]
