"""Forecasts of one regular series with prediction intervals, and their rolling-origin backtest.

Pure domain logic (no gRPC, no SQL). The model is statsmodels' ``STLForecast``: STL removes the seasonal
cycle (a weekly period when the history holds two weeks, which carries the daily cycle too; else a daily
period), a damped additive-trend ETS model forecasts the rest, and the seasonal part is carried forward
from the last cycle. Prediction intervals come from the ETS model (the seasonal part is taken as known,
so they are narrower than their nominal level: the benchmark measures their coverage).

Every forecast carries its backtest: rolling origins over the end of the history (each fitted only on what
came before it), MAPE, and MASE scaled by the in-sample seasonal-naive error (below 1 = better than
repeating last week), with seasonal-naive's own figures beside it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from paved_kit.errors import FieldViolation, InvalidArgument

MAX_HORIZON_PERIODS = 2  # at most two seasonal cycles ahead


@dataclass(frozen=True)
class ForecastSettings:
    daily_period: int = 24
    weekly_period: int = 168
    confidence: float = 0.9
    folds: int = 7
    fold_step: int = 24


@dataclass(frozen=True)
class Forecast:
    """``horizon`` points ahead of the last one, with the lower and upper prediction bounds."""

    mean: list[float]
    lower: list[float]
    upper: list[float]
    period: int


@dataclass(frozen=True)
class Backtest:
    folds: int
    horizon: int
    mape: float
    mase: float
    naive_mape: float
    naive_mase: float


def _period(length: int, settings: ForecastSettings) -> int:
    return settings.weekly_period if length >= 2 * settings.weekly_period else settings.daily_period


def validate(values: Sequence[float], horizon: int, settings: ForecastSettings) -> None:
    violations: list[FieldViolation] = []
    minimum = 2 * settings.daily_period
    if len(values) < minimum:
        violations.append(FieldViolation("values", f"needs at least {minimum} points (two daily periods)"))
    if any(math.isnan(v) or math.isinf(v) for v in values):
        violations.append(FieldViolation("values", "must be finite numbers"))
    limit = MAX_HORIZON_PERIODS * _period(len(values), settings)
    if not 1 <= horizon <= limit:
        violations.append(FieldViolation("horizon", f"must be between 1 and {limit} points"))
    if not 0.5 <= settings.confidence < 1.0:
        violations.append(FieldViolation("confidence", "must be at least 0.5 and below 1"))
    if violations:
        raise InvalidArgument("cannot forecast this series", violations)


def _fit_predict(y: np.ndarray, horizon: int, period: int, alpha: float) -> Forecast:
    # Imported here: statsmodels and pandas are seconds of CPU at start-up otherwise.
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.forecasting.stl import STLForecast

    model = STLForecast(
        pd.Series(y),  # ETS prediction frames need an index
        ETSModel,
        model_kwargs={"error": "add", "trend": "add", "damped_trend": True},
        period=period,
        seasonal=13,
        seasonal_deg=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the optimiser
        fitted = model.fit(fit_kwargs={"disp": False})
        frame = fitted.get_prediction(start=len(y), end=len(y) + horizon - 1).summary_frame(alpha=alpha)
    return Forecast(
        mean=[float(v) for v in frame["mean"]],
        lower=[float(v) for v in frame["mean_ci_lower"]],
        upper=[float(v) for v in frame["mean_ci_upper"]],
        period=period,
    )


def forecast(values: Sequence[float], horizon: int, settings: ForecastSettings | None = None) -> Forecast:
    """Forecast ``horizon`` points after ``values`` (a regular series, oldest first)."""
    settings = settings or ForecastSettings()
    validate(values, horizon, settings)
    y = np.asarray(values, dtype=float)
    return _fit_predict(y, horizon, _period(len(y), settings), 1.0 - settings.confidence)


def seasonal_naive(y: np.ndarray, horizon: int, period: int) -> np.ndarray:
    """The last cycle repeated."""
    last = y[-period:]
    return np.resize(last, horizon)


def backtest(values: Sequence[float], horizon: int, settings: ForecastSettings | None = None) -> Backtest:
    """Rolling-origin backtest over the last ``folds`` origins, ``fold_step`` points apart."""
    settings = settings or ForecastSettings()
    y = np.asarray(values, dtype=float)
    errors: list[np.ndarray] = []
    naive_errors: list[np.ndarray] = []
    actuals: list[np.ndarray] = []
    scales: list[float] = []
    for fold in range(settings.folds, 0, -1):
        origin = len(y) - horizon - (fold - 1) * settings.fold_step
        train = y[:origin]
        if origin < 2 * settings.daily_period or origin + horizon > len(y):
            continue
        period = _period(len(train), settings)
        if len(train) <= period:
            continue
        validate(train.tolist(), horizon, settings)
        actual = y[origin : origin + horizon]
        predicted = np.asarray(_fit_predict(train, horizon, period, 0.1).mean)
        errors.append(np.abs(actual - predicted))
        naive_errors.append(np.abs(actual - seasonal_naive(train, horizon, period)))
        actuals.append(actual)
        scales.append(float(np.mean(np.abs(train[period:] - train[:-period]))))
    if not errors:
        raise InvalidArgument(
            "history too short to backtest",
            [FieldViolation("values", "needs more than one seasonal cycle before the first origin")],
        )

    def mape(errs: list[np.ndarray]) -> float:
        pairs = zip(errs, actuals, strict=True)
        ratios = np.concatenate([e[a != 0] / np.abs(a[a != 0]) for e, a in pairs])
        return float(100 * ratios.mean()) if ratios.size else math.inf

    def mase(errs: list[np.ndarray]) -> float:
        return float(
            np.mean([e.mean() / s if s > 0 else math.inf for e, s in zip(errs, scales, strict=True)])
        )

    return Backtest(
        folds=len(errors),
        horizon=horizon,
        mape=round(mape(errors), 2),
        mase=round(mase(errors), 3),
        naive_mape=round(mape(naive_errors), 2),
        naive_mase=round(mase(naive_errors), 3),
    )
