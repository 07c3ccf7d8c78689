"""Forecast accuracy: Paved's forecast (STL + damped ETS, statsmodels) against seasonal-naive.

    uv run python tests/benchmarks/bench_forecast.py               # 5 series per family, 7 origins
    uv run python tests/benchmarks/bench_forecast.py --series 2 --folds 3

Series: the hourly four-week families of ``synthetic_series.py`` (anomalies included: a forecast has to
live with them). Rolling-origin backtest (``paved_alerting.forecast.backtest``): origins one day apart
over the last days, 24 h ahead, each fitted only on the history before it. Reported per family: mean MAPE
and MASE of the forecast and of seasonal-naive (last week repeated) on the same origins, the share of
series where the forecast beats seasonal-naive (MASE below seasonal-naive's), and the coverage of the 90 %
prediction interval on the last origin. No database is used.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from paved_alerting.forecast import ForecastSettings, backtest, forecast
from synthetic_series import FAMILIES, make

HORIZON = 24


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=5, help="series per family")
    parser.add_argument("--folds", type=int, default=7, help="rolling origins per series")
    args = parser.parse_args()
    settings = ForecastSettings(folds=args.folds)

    print(f"{args.series} hourly series of 4 weeks per family, {args.folds} origins, {HORIZON} h ahead\n")
    print(
        f"{'family':<18}{'MAPE %':>8}{'MASE':>7}{'naive MAPE':>12}{'naive MASE':>12}"
        f"{'beats':>7}{'PI90 cover':>12}"
    )
    started = time.perf_counter()
    fits = 0
    for f_index, family in enumerate(("clean", "clean_heavy_tail", *FAMILIES)):
        results, covers, beats = [], [], 0
        for i in range(args.series):
            y = make(family, seed=500 + 1000 * f_index + i).values
            result = backtest(y.tolist(), HORIZON, settings)
            results.append(result)
            beats += result.mase < result.naive_mase
            last = forecast(y[:-HORIZON].tolist(), HORIZON, settings)
            actual = y[-HORIZON:]
            covers.append(float(np.mean((actual >= last.lower) & (actual <= last.upper))))
            fits += result.folds + 1
        print(
            f"{family:<18}{statistics.mean(r.mape for r in results):>8.2f}"
            f"{statistics.mean(r.mase for r in results):>7.3f}"
            f"{statistics.mean(r.naive_mape for r in results):>12.2f}"
            f"{statistics.mean(r.naive_mase for r in results):>12.3f}"
            f"{beats:>4}/{args.series:<2}{statistics.mean(covers):>12.2f}"
        )
    print(f"\n{1000 * (time.perf_counter() - started) / fits:.0f} ms per fit and forecast")


if __name__ == "__main__":
    main()
