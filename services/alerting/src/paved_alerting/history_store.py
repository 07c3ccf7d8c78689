"""Queries of the metric history tables; callers own the transaction (as in :mod:`paved_alerting.store`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import delete, tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_alerting import sketch
from paved_alerting.history import COARSE, Bucket, BucketKey, SeriesId
from paved_alerting.models import MetricRollupRow, MetricSeriesRow

_CHUNK = 500  # keys per IN list, well under every driver's parameter limit


def _chunks(items: Sequence[tuple[object, ...]]) -> Iterable[Sequence[tuple[object, ...]]]:
    for offset in range(0, len(items), _CHUNK):
        yield items[offset : offset + _CHUNK]


async def newest_times(*, session: AsyncSession, series: Iterable[SeriesId]) -> dict[SeriesId, float]:
    """The newest stored sample time of each series that exists, locked until the transaction ends."""
    keys = sorted(set(series))
    found: dict[SeriesId, float] = {}
    key_columns = tuple_(
        col(MetricSeriesRow.service), col(MetricSeriesRow.environment), col(MetricSeriesRow.metric)
    )
    for chunk in _chunks(keys):
        statement = select(MetricSeriesRow).where(key_columns.in_(chunk)).with_for_update()
        for row in (await session.exec(statement)).all():
            found[(row.service, row.environment, row.metric)] = row.newest_time
    return found


async def record_newest(
    *, session: AsyncSession, newest: Mapping[SeriesId, float], existing: Mapping[SeriesId, float]
) -> None:
    """Write each series' newest sample time (insert the new series)."""
    for series, time in newest.items():
        service, environment, metric = series
        if series in existing:
            found = await session.get(MetricSeriesRow, (service, environment, metric))
            if found is not None:
                found.newest_time = time
                session.add(found)
                continue
        session.add(
            MetricSeriesRow(service=service, environment=environment, metric=metric, newest_time=time)
        )
    await session.flush()


async def merge_buckets(*, session: AsyncSession, deltas: Mapping[BucketKey, Bucket]) -> None:
    """Add each delta to its stored bucket (creating it), reading the stored ones under a row lock."""
    keys = sorted(deltas)
    stored: dict[BucketKey, MetricRollupRow] = {}
    key_columns = tuple_(
        col(MetricRollupRow.service),
        col(MetricRollupRow.environment),
        col(MetricRollupRow.metric),
        col(MetricRollupRow.resolution),
        col(MetricRollupRow.bucket_start),
    )
    for chunk in _chunks(keys):
        statement = select(MetricRollupRow).where(key_columns.in_(chunk)).with_for_update()
        for row in (await session.exec(statement)).all():
            stored[(row.service, row.environment, row.metric, row.resolution, row.bucket_start)] = row
    for key in keys:
        delta = deltas[key]
        current = stored.get(key)
        if current is None:
            service, environment, metric, resolution, start = key
            session.add(
                MetricRollupRow(
                    service=service,
                    environment=environment,
                    metric=metric,
                    resolution=resolution,
                    bucket_start=start,
                    count=delta.count,
                    total=delta.total,
                    minimum=delta.minimum,
                    maximum=delta.maximum,
                    sketch=sketch.encode(delta.sketch),
                )
            )
            continue
        bucket = bucket_of(current)
        bucket.merge(delta)
        current.count, current.total = bucket.count, bucket.total
        current.minimum, current.maximum = bucket.minimum, bucket.maximum
        current.sketch = sketch.encode(bucket.sketch)
        session.add(current)
    await session.flush()


def bucket_of(row: MetricRollupRow) -> Bucket:
    """The domain bucket of a stored row."""
    return Bucket(row.count, row.total, row.minimum, row.maximum, sketch.decode(row.sketch))


async def read_buckets(
    *,
    session: AsyncSession,
    series: SeriesId,
    resolution: int,
    start: float,
    end: float,
) -> list[tuple[int, Bucket]]:
    """Stored buckets of a series at ``resolution`` starting in ``[start, end)``, oldest first."""
    service, environment, metric = series
    statement = (
        select(MetricRollupRow)
        .where(
            col(MetricRollupRow.service) == service,
            col(MetricRollupRow.environment) == environment,
            col(MetricRollupRow.metric) == metric,
            col(MetricRollupRow.resolution) == resolution,
            col(MetricRollupRow.bucket_start) >= start,
            col(MetricRollupRow.bucket_start) < end,
        )
        .order_by(col(MetricRollupRow.bucket_start))
    )
    return [(row.bucket_start, bucket_of(row)) for row in (await session.exec(statement)).all()]


async def prune(*, session: AsyncSession, resolution: int, before: float) -> int:
    """Delete buckets of ``resolution`` that start before ``before``; returns how many."""
    result = await session.exec(
        delete(MetricRollupRow).where(
            col(MetricRollupRow.resolution) == resolution, col(MetricRollupRow.bucket_start) < before
        )
    )
    return int(result.rowcount or 0)


async def forget_series_before(*, session: AsyncSession, before: float) -> int:
    """Delete series whose newest sample is older than every bucket kept; returns how many."""
    result = await session.exec(delete(MetricSeriesRow).where(col(MetricSeriesRow.newest_time) < before))
    return int(result.rowcount or 0)


async def hourly_means(
    *,
    session: AsyncSession,
    services: Sequence[str],
    environment: str,
    metrics: Sequence[str],
    start: float,
    end: float,
) -> dict[tuple[str, str], dict[int, float]]:
    """Mean of each hourly bucket in ``[start, end)`` of the given services' metrics, by (service, metric)
    and bucket start; reads only count and sum (not the sketches), in chunks of services."""
    found: dict[tuple[str, str], dict[int, float]] = {}
    for offset in range(0, len(services), _CHUNK):
        chunk = list(services[offset : offset + _CHUNK])
        statement = select(
            MetricRollupRow.service,
            MetricRollupRow.metric,
            MetricRollupRow.bucket_start,
            (col(MetricRollupRow.total) / col(MetricRollupRow.count)).label("mean"),
        ).where(
            col(MetricRollupRow.service).in_(chunk),
            col(MetricRollupRow.environment) == environment,
            col(MetricRollupRow.metric).in_(list(metrics)),
            col(MetricRollupRow.resolution) == COARSE,
            col(MetricRollupRow.bucket_start) >= start,
            col(MetricRollupRow.bucket_start) < end,
            col(MetricRollupRow.count) > 0,
        )
        for service, metric, bucket, mean in (await session.exec(statement)).all():
            found.setdefault((service, metric), {})[bucket] = float(mean)
    return found
