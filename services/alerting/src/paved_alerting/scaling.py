"""Predictive scaling (pure): minimum replicas per forecast hour, the per-replica capacity learned from
history, and whether a forecast has earned the right to act.

Scale-out only: the schedule never goes below the HPA's current minimum (a forecast never scales in) nor
above its maximum. A schedule is published in shadow mode unless its backtest beats seasonal-naive
(MASE < 1) and its MAPE stays under the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from paved_alerting.forecast import Backtest

CAPACITY_PERCENTILE = 90  # what one replica carried in the busy hours of the history


def learned_capacity(load: Sequence[float], replicas: Sequence[float]) -> float | None:
    """Load per replica at the 90th percentile of the hours where both were recorded; None without any."""
    ratios = [
        value / count
        for value, count in zip(load, replicas, strict=True)
        if not math.isnan(value) and not math.isnan(count) and count > 0 and value > 0
    ]
    if not ratios:
        return None
    return float(np.percentile(ratios, CAPACITY_PERCENTILE))


def replicas_for(load: float, capacity: float, min_replicas: int, max_replicas: int) -> int:
    """Replicas that carry ``load``, never below ``min_replicas`` nor above ``max_replicas``."""
    needed = math.ceil(max(load, 0.0) / capacity) if capacity > 0 else min_replicas
    return max(min_replicas, min(max_replicas, needed))


def schedule(upper: Sequence[float], capacity: float, min_replicas: int, max_replicas: int) -> list[int]:
    """Minimum replicas for each forecast hour, sized for its upper prediction bound."""
    return [replicas_for(value, capacity, min_replicas, max_replicas) for value in upper]


def mode(backtest: Backtest, mape_threshold: float) -> tuple[str, str]:
    """``active`` when the backtest earns actuation, else ``shadow``; and why."""
    if not backtest.mase < 1:
        return "shadow", f"backtest MASE {backtest.mase:g} does not beat seasonal-naive (needs < 1)"
    if not backtest.mape < mape_threshold:
        return "shadow", f"backtest MAPE {backtest.mape:g}% is not under {mape_threshold:g}%"
    return "active", f"backtest MASE {backtest.mase:g} < 1 and MAPE {backtest.mape:g}% < {mape_threshold:g}%"
