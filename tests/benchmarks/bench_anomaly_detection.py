"""Anomaly detection accuracy: Paved's detector against a z-score band and a static threshold.

    uv run python tests/benchmarks/bench_anomaly_detection.py              # 20 series per family
    uv run python tests/benchmarks/bench_anomaly_detection.py --series 5   # quicker

Series: hourly, four weeks, labelled (see ``synthetic_series.py``): spikes, dips, level shifts, slow drifts,
variance changes, seasonal pattern changes, spikes under heavy-tailed (Student t, 3 dof) noise; plus
anomaly-free series with Gaussian and with heavy-tailed noise for the false-alarm rate.

Detectors, all scored over the same series:
- paved: ``paved_alerting.anomaly.detect`` (robust STL/MSTL + median/MAD score + level shifts), sensitivity
  medium;
- zscore: mean/stddev band over the trailing week (the GitLab Prometheus recipe), flag ``|z| > 3``;
- static: thresholds set from the clean first week, ``> 1.2 x max`` or ``< 0.8 x min``.

Scoring is by anomaly window: a label is detected when a flagged run overlaps ``[start, end + 3 h]``;
precision is the share of flagged runs that overlap some label; the delay is the first flagged hour in
the window minus the label's start. The first week is not scored (the baselines need it to warm up).
False alarms are flagged runs per series-week on anomaly-free series. No database is used.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from paved_alerting.anomaly import Settings, detect
from synthetic_series import FAMILIES, HOURS_PER_WEEK, Series, make

GRACE = 3
Runs = list[tuple[int, int]]


def _runs(flags: np.ndarray, gap: int = 2) -> Runs:
    index = np.flatnonzero(flags)
    runs: Runs = []
    for i in (int(x) for x in index):
        if runs and i - runs[-1][1] <= gap + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def paved(series: Series) -> Runs:
    return [(a.start, a.end) for a in detect(series.values.tolist(), Settings(sensitivity="medium"))]


def zscore(series: Series) -> Runs:
    y = series.values
    flags = np.zeros(len(y), dtype=bool)
    for t in range(24, len(y)):
        window = y[max(0, t - HOURS_PER_WEEK) : t]
        sd = window.std()
        flags[t] = sd > 0 and abs(y[t] - window.mean()) / sd > 3.0
    return _runs(flags)


def static(series: Series) -> Runs:
    first = series.values[:HOURS_PER_WEEK]
    upper, lower = 1.2 * first.max(), 0.8 * first.min()
    return _runs((series.values > upper) | (series.values < lower))


DETECTORS: dict[str, Callable[[Series], Runs]] = {"paved": paved, "zscore": zscore, "static": static}


@dataclass
class Tally:
    labels: int = 0
    detected: int = 0
    runs: int = 0
    true_runs: int = 0
    delays: list[int] = field(default_factory=list)
    weeks: float = 0.0
    seconds: float = 0.0

    @property
    def precision(self) -> float:
        return self.true_runs / self.runs if self.runs else 1.0

    @property
    def recall(self) -> float:
        return self.detected / self.labels if self.labels else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _score(series: Series, runs: Runs, tally: Tally) -> None:
    runs = [(a, b) for a, b in runs if b >= HOURS_PER_WEEK]
    tally.runs += len(runs)
    tally.weeks += (len(series.values) - HOURS_PER_WEEK) / HOURS_PER_WEEK
    windows = [(s, e + GRACE) for s, e in series.labels]
    tally.true_runs += sum(1 for a, b in runs if any(a <= we and b >= ws for ws, we in windows))
    for (s, _), (ws, we) in zip(series.labels, windows, strict=True):
        tally.labels += 1
        hits = [max(a, ws) for a, b in runs if a <= we and b >= ws]
        if hits:
            tally.detected += 1
            tally.delays.append(min(hits) - s)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=20, help="series per family")
    args = parser.parse_args()

    families = (*FAMILIES, "clean", "clean_heavy_tail")
    table: dict[str, dict[str, Tally]] = {f: {d: Tally() for d in DETECTORS} for f in families}
    for f_index, family in enumerate(families):
        for i in range(args.series):
            series = make(family, seed=1000 * f_index + i)
            for name, detector in DETECTORS.items():
                started = time.perf_counter()
                runs = detector(series)
                table[family][name].seconds += time.perf_counter() - started
                _score(series, runs, table[family][name])

    print(f"{args.series} hourly series of 4 weeks per family; scored on weeks 2-4; no database\n")
    header = f"{'family':<18}" + "".join(f"{d + ' P/R/F1':>22}{'delay h':>9}" for d in DETECTORS)
    print(header)
    for family in FAMILIES:
        row = f"{family:<18}"
        for name in DETECTORS:
            t = table[family][name]
            delay = f"{statistics.median(t.delays):.0f}" if t.delays else "-"
            row += f"{t.precision:>8.2f}{t.recall:>7.2f}{t.f1:>7.2f}{delay:>9}"
        print(row)
    print("\nfalse alarms per series-week on anomaly-free series")
    for family in ("clean", "clean_heavy_tail"):
        row = f"{family:<18}"
        for name in DETECTORS:
            t = table[family][name]
            row += f"{name:>10}{t.runs / t.weeks:>8.2f}"
        print(row)
    print("\nmean detection time per series (ms)")
    for name in DETECTORS:
        total = sum(table[f][name].seconds for f in families)
        print(f"  {name:<8}{1000 * total / (len(families) * args.series):8.1f}")


if __name__ == "__main__":
    main()
