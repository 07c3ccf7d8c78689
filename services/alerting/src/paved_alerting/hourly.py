"""Regular hourly series out of sparse hourly means (pure): the shape forecasts and anomaly scores need."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

HOUR = 3600


def hour_start(time: float) -> int:
    """Start of the hour ``time`` falls in."""
    return int(time // HOUR) * HOUR


def regular(means: Mapping[int, float], first: int, hours: int) -> list[float]:
    """``hours`` values from the hour starting at ``first``; NaN where the hour has no mean."""
    return [means.get(first + HOUR * i, math.nan) for i in range(hours)]


def trimmed(values: list[float], first: int) -> tuple[list[float], int]:
    """The series without its leading and trailing missing hours, and the start of its first hour."""
    present = [i for i, value in enumerate(values) if not math.isnan(value)]
    if not present:
        return [], first
    return values[present[0] : present[-1] + 1], first + HOUR * present[0]


def interpolated(values: list[float]) -> list[float]:
    """Missing hours inside the series filled linearly (forecast models need a gapless series)."""
    filled = list(values)
    known = [i for i, value in enumerate(values) if not math.isnan(value)]
    for left, right in itertools.pairwise(known):
        for i in range(left + 1, right):
            share = (i - left) / (right - left)
            filled[i] = values[left] + share * (values[right] - values[left])
    return filled
