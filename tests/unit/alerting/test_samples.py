"""The bounded sample windows and ingest validation."""

from __future__ import annotations

import math

from paved_alerting.samples import SampleStore, Series


def test_a_series_keeps_only_its_window() -> None:
    series = Series(window=3)
    for t in range(10):
        series.add(float(t), float(t * 10))
    assert list(series.times) == [7.0, 8.0, 9.0]
    assert series.value_at(9.5, lookback=300) == 90.0


def test_late_samples_go_in_order_and_repeats_overwrite() -> None:
    series = Series(window=4)
    for t in (10.0, 30.0, 20.0, 30.0):
        series.add(t, t)
    series.add(30.0, 31.0)
    assert list(series.times) == [10.0, 20.0, 30.0]
    assert series.value_at(25.0, lookback=300) == 20.0
    assert series.value_at(30.0, lookback=300) == 31.0
    series.add(40.0, 40.0)
    series.add(5.0, 5.0)  # older than a full window: dropped
    assert list(series.times) == [10.0, 20.0, 30.0, 40.0]
    series.add(15.0, 15.0)  # the oldest makes room
    assert list(series.times) == [15.0, 20.0, 30.0, 40.0]


def test_lookback_limits_how_old_a_value_may_be() -> None:
    series = Series(window=4)
    series.add(100.0, 1.0)
    assert series.value_at(400.0, lookback=300) == 1.0
    assert series.value_at(400.1, lookback=300) is None
    assert series.value_at(99.0, lookback=300) is None


def test_ingest_rejects_unknown_metrics_missing_services_and_non_finite_values() -> None:
    store = SampleStore(window=4, max_errors=2)
    result = store.ingest(
        [
            ("checkout", "error_rate", 0.5, 1.0),
            ("checkout", "errors", 0.5, 1.0),
            ("", "up", 1.0, 1.0),
            ("checkout", "up", math.nan, 1.0),
            ("checkout", "up", 1.0, 2.0),
        ]
    )
    assert (result.accepted, result.rejected) == (2, 3)
    assert result.errors == ["samples[1].metric: unknown metric 'errors'", "samples[2].service: required"]
    assert store.value_at("checkout", "up", 2.0) == 1.0
    assert store.value_at("checkout", "cpu", 2.0) is None


def test_the_number_of_series_is_bounded_and_a_service_can_be_forgotten() -> None:
    store = SampleStore(window=2, max_series=2)
    result = store.ingest(
        [("a", "up", 1.0, 1.0), ("b", "up", 1.0, 1.0), ("c", "up", 1.0, 1.0), ("a", "up", 0.0, 2.0)]
    )
    assert (result.accepted, result.rejected) == (3, 1)
    assert result.errors == ["samples[2]: series limit of 2 reached"]
    store.forget_service("a")
    assert store.value_at("a", "up", 2.0) is None
    assert store.ingest([("c", "up", 1.0, 1.0)]).accepted == 1
