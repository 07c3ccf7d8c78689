"""Labelled synthetic hourly series for the anomaly and forecast benchmarks (seeded, reproducible).

A series is a base level with a daily cycle (peak mid-afternoon), a weekly cycle (quieter weekends), a
slow trend and noise. The first week is always clean (it is what a static threshold is set from); each
family injects two anomalies of its kind in weeks two to four, at least two days apart. A label is the
window of indexes ``[start, end]`` an operator would call anomalous.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

HOURS_PER_WEEK = 168
FAMILIES = (
    "spike",
    "dip",
    "level_shift",
    "slow_drift",
    "variance_change",
    "seasonal_change",
    "heavy_tail",
)


@dataclass
class Series:
    family: str
    values: np.ndarray
    labels: list[tuple[int, int]] = field(default_factory=list)
    noise: float = 0.0


def _base(rng: np.random.Generator, hours: int) -> tuple[np.ndarray, float]:
    t = np.arange(hours)
    level = rng.uniform(80.0, 400.0)
    daily = 0.35 * level * np.sin(2 * np.pi * (t % 24 - 9) / 24)
    weekday = (t // 24) % 7
    weekly = np.where(weekday >= 5, -0.2 * level, 0.0)
    trend = level * rng.uniform(-0.03, 0.08) * t / HOURS_PER_WEEK
    return level + daily + weekly + trend, level


def _clean(rng: np.random.Generator, hours: int, heavy: bool) -> Series:
    base, level = _base(rng, hours)
    sigma = 0.04 * level
    noise = sigma * (rng.standard_t(3, hours) / np.sqrt(3.0) if heavy else rng.standard_normal(hours))
    return Series("clean_heavy_tail" if heavy else "clean", base + noise, [], sigma)


def _starts(rng: np.random.Generator, hours: int, count: int, length: int) -> list[int]:
    while True:
        starts = sorted(int(s) for s in rng.integers(HOURS_PER_WEEK, hours - length - 24, count))
        if all(b - a >= 48 + length for a, b in itertools.pairwise(starts)):
            return starts


def make(family: str, seed: int, weeks: int = 4) -> Series:
    """One labelled series of ``family``; ``clean``/``clean_heavy_tail`` have no anomalies."""
    rng = np.random.default_rng(seed)
    hours = weeks * HOURS_PER_WEEK
    if family in ("clean", "clean_heavy_tail"):
        return _clean(rng, hours, family == "clean_heavy_tail")
    series = _clean(rng, hours, family == "heavy_tail")
    y, sigma = series.values, series.noise
    labels: list[tuple[int, int]] = []
    t = np.arange(hours)
    if family in ("spike", "dip", "heavy_tail"):
        for s in _starts(rng, hours, 2, 3):
            length = int(rng.integers(1, 4))
            sign = -1.0 if family == "dip" or (family == "heavy_tail" and rng.random() < 0.5) else 1.0
            y[s : s + length] += sign * rng.uniform(8.0, 14.0) * sigma
            labels.append((s, s + length - 1))
    elif family == "level_shift":
        for s in _starts(rng, hours, 2, 36):
            y[s : s + 36] += rng.choice([-1.0, 1.0]) * rng.uniform(4.0, 7.0) * sigma
            labels.append((s, s + 35))
    elif family == "slow_drift":
        for s in _starts(rng, hours, 2, 48):
            ramp = np.clip((t - s) / 24.0, 0.0, 2.0) * rng.uniform(3.0, 5.0) * sigma
            ramp[s + 48 :] = 0.0
            y += ramp
            labels.append((s, s + 47))
    elif family == "variance_change":
        for s in _starts(rng, hours, 2, 24):
            y[s : s + 24] += rng.standard_normal(24) * sigma * rng.uniform(3.0, 4.0)
            labels.append((s, s + 23))
    elif family == "seasonal_change":
        for s in _starts(rng, hours, 2, 24):
            # The daily peak moves six hours later for a day (a batch job, a time-zone bug).
            hours_of_day = (t[s : s + 24] % 24) - 9
            level = float(np.median(y[:HOURS_PER_WEEK]))
            y[s : s + 24] += (
                0.35
                * level
                * (np.sin(2 * np.pi * (hours_of_day - 6) / 24) - np.sin(2 * np.pi * hours_of_day / 24))
            )
            labels.append((s, s + 23))
    else:
        raise ValueError(f"unknown family {family!r}")
    return Series(family, y, labels, sigma)
