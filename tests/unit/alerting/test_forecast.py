"""Forecasts with prediction intervals and their rolling-origin backtest."""

from __future__ import annotations

import math

import numpy as np
import pytest
from paved_alerting.forecast import ForecastSettings, backtest, forecast, seasonal_naive
from paved_kit.errors import InvalidArgument


def _series(weeks: int = 3, seed: int = 2, growth: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(weeks * 168)
    weekend = np.where((t // 24) % 7 >= 5, -20.0, 0.0)
    daily = 35 * np.sin(2 * np.pi * (t % 24 - 9) / 24)
    return 100 + growth * t + daily + weekend + rng.normal(0, 3, len(t))


def test_the_forecast_follows_the_daily_and_weekly_cycle_within_its_interval() -> None:
    y = _series(weeks=4)
    result = forecast(y[:-48].tolist(), 48)
    actual = y[-48:]
    assert len(result.mean) == len(result.lower) == len(result.upper) == 48
    assert result.period == 168
    assert all(lo < m < hi for lo, m, hi in zip(result.lower, result.mean, result.upper, strict=True))
    assert np.mean(np.abs(actual - np.asarray(result.mean))) < 6.0
    inside = np.mean((actual >= result.lower) & (actual <= result.upper))
    assert inside > 0.7


def test_a_growing_series_beats_seasonal_naive_in_the_backtest() -> None:
    y = _series(weeks=4, growth=0.15)
    result = backtest(y.tolist(), 24, ForecastSettings(folds=3))
    assert result.folds == 3
    assert result.mase < 1.0
    assert result.mase < result.naive_mase
    assert 0 < result.mape < result.naive_mape


def test_seasonal_naive_repeats_the_last_cycle() -> None:
    y = np.arange(10.0)
    assert seasonal_naive(y, 5, 3).tolist() == [7.0, 8.0, 9.0, 7.0, 8.0]


def test_bad_input_names_the_field_and_the_rule() -> None:
    with pytest.raises(InvalidArgument) as error:
        forecast([1.0] * 30, 0, ForecastSettings(confidence=1.5))
    fields = {v.field: v.description for v in error.value.field_violations}
    assert "at least 48 points" in fields["values"]
    assert "between 1 and 48 points" in fields["horizon"]
    assert "below 1" in fields["confidence"]
    with pytest.raises(InvalidArgument):
        forecast([1.0, math.nan] * 40, 24)
