"""A mergeable log-bucket histogram of non-negative values (the layout of DDSketch and VPA's histograms).

Bucket ``i`` holds values in ``(GAMMA**(i-1), GAMMA**i]``, so any quantile read from it is within
``(GAMMA-1)/2`` ≈ 2.5 % of the true value; values at or below ``ZERO_LIMIT`` share one zero bucket.
Two sketches merge by adding counts, which is what makes roll-ups of roll-ups exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

GAMMA = 1.05
ZERO_LIMIT = 1e-9
ZERO_INDEX = -(2**31)  # the zero bucket's key; no real bucket index comes near it
_LOG_GAMMA = math.log(GAMMA)


def bucket_index(value: float) -> int:
    """The bucket that ``value`` (finite, ≥ 0) falls in."""
    if value <= ZERO_LIMIT:
        return ZERO_INDEX
    return math.ceil(math.log(value) / _LOG_GAMMA - 1e-12)


def bucket_bounds(index: int) -> tuple[float, float]:
    """The (lower, upper] bounds of a bucket."""
    if index == ZERO_INDEX:
        return 0.0, ZERO_LIMIT
    return GAMMA ** (index - 1), GAMMA**index


def bucket_value(index: int) -> float:
    """The value a bucket stands for: the midpoint that keeps the relative error within (GAMMA-1)/2."""
    if index == ZERO_INDEX:
        return 0.0
    lower, upper = bucket_bounds(index)
    return 2 * lower * upper / (lower + upper)


def add_value(buckets: dict[int, float], value: float, weight: float = 1.0) -> None:
    """Count ``value`` with ``weight`` into ``buckets``."""
    index = bucket_index(value)
    buckets[index] = buckets.get(index, 0.0) + weight


def merge(into: dict[int, float], other: Mapping[int, float], weight: float = 1.0) -> None:
    """Add ``other``'s counts (scaled by ``weight``) into ``into``."""
    for index, count in other.items():
        into[index] = into.get(index, 0.0) + count * weight


def quantile(buckets: Mapping[int, float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of the counted values, or None when nothing was counted."""
    total = sum(buckets.values())
    if total <= 0:
        return None
    rank = q * total
    running = 0.0
    ordered = sorted(buckets)
    for index in ordered:
        running += buckets[index]
        if running >= rank - 1e-12 * total:
            return bucket_value(index)
    return bucket_value(ordered[-1])


def encode(buckets: Mapping[int, float]) -> dict[str, float]:
    """A JSON-friendly form (string keys)."""
    return {str(index): count for index, count in buckets.items() if count}


def decode(data: Mapping[str, float] | None) -> dict[int, float]:
    """The inverse of :func:`encode`."""
    return {int(index): float(count) for index, count in (data or {}).items()}


def from_values(values: Iterable[float]) -> dict[int, float]:
    """A sketch of ``values``."""
    buckets: dict[int, float] = {}
    for value in values:
        add_value(buckets, value)
    return buckets
