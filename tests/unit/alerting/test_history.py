"""Metric history roll-ups: the sketch's accuracy and merging, retention, ordering and regrouping."""

from __future__ import annotations

import random

import pytest
from paved_alerting import sketch
from paved_alerting.history import COARSE, FINE, Bucket, Retention, admit, regroup

NOW = 1_800_000_000.0
RETENTION = Retention(fine_seconds=2 * 86400, coarse_seconds=10 * 86400)


def test_sketch_quantiles_are_within_its_relative_error() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(0, 1.5) for _ in range(20_000)]
    buckets = sketch.from_values(values)
    ordered = sorted(values)
    for q in (0.5, 0.9, 0.95, 0.99):
        exact = ordered[int(q * len(ordered)) - 1]
        assert sketch.quantile(buckets, q) == pytest.approx(exact, rel=0.03)


def test_merged_sketches_equal_one_sketch_of_all_values() -> None:
    left, right = [0.1 * i for i in range(100)], [5.0 + i for i in range(50)]
    merged = sketch.from_values(left)
    sketch.merge(merged, sketch.from_values(right))
    assert merged == sketch.from_values(left + right)
    assert sketch.quantile(merged, 0.0) == 0.0  # zeros keep their own bucket


def test_admit_rolls_samples_into_fine_and_coarse_buckets() -> None:
    samples = [(i, "checkout", "", "cpu_usage", float(i), NOW - 3600 + 60 * i) for i in range(10)]
    admission = admit(samples, {}, NOW, RETENTION)
    assert admission.accepted == 10 and admission.skipped == 0
    fine = {k: b for k, b in admission.deltas.items() if k[3] == FINE}
    coarse = {k: b for k, b in admission.deltas.items() if k[3] == COARSE}
    assert sum(b.count for b in fine.values()) == 10
    (hour,) = coarse.values()
    assert (hour.count, hour.total, hour.minimum, hour.maximum) == (10, 45.0, 0.0, 9.0)
    assert admission.newest[("checkout", "", "cpu_usage")] == NOW - 3600 + 540


def test_admit_skips_out_of_order_old_and_future_samples_with_reasons() -> None:
    series = ("checkout", "prod", "memory_working_set")
    samples = [
        (0, "checkout", "prod", "memory_working_set", 1.0, NOW - 100),  # before the stored newest
        (1, "checkout", "prod", "memory_working_set", 1.0, NOW - 11 * 86400),  # past retention
        (2, "checkout", "prod", "memory_working_set", 1.0, NOW + 3600),  # future
        (3, "checkout", "prod", "memory_working_set", 2.0, NOW - 50),
        (4, "checkout", "prod", "memory_working_set", 3.0, NOW - 50),  # equal time: another instance
        (5, "checkout", "prod", "memory_working_set", 3.0, NOW - 60),  # out of order within the batch
    ]
    admission = admit(samples, {series: NOW - 60}, NOW, RETENTION)
    assert admission.accepted == 2 and admission.skipped == 4
    assert [reason.split(":")[0] for reason in admission.reasons] == [
        "samples[0].time",
        "samples[1].time",
        "samples[2].time",
        "samples[5].time",
    ]
    assert "time order" in admission.reasons[0]


def test_samples_older_than_the_fine_retention_reach_only_hourly_buckets() -> None:
    samples = [(0, "checkout", "", "cpu_usage", 1.0, NOW - 5 * 86400)]
    admission = admit(samples, {}, NOW, RETENTION)
    assert [key[3] for key in admission.deltas] == [COARSE]


def test_regroup_merges_buckets_into_steps() -> None:
    day = 86400
    stored = []
    for hour in range(48):
        bucket = Bucket()
        bucket.add(float(hour))
        stored.append((int(NOW // day) * day + hour * 3600, bucket))
    points = regroup(stored, day)
    assert [p.bucket.count for p in points] == [24, 24]
    assert [p.bucket.maximum for p in points] == [23.0, 47.0]
