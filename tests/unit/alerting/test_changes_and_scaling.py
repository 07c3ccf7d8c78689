"""Likely-cause ranking and predictive-scaling rules (pure)."""

from __future__ import annotations

import math

from paved_alerting.changes import Change, describe, likely_causes
from paved_alerting.forecast import Backtest
from paved_alerting.scaling import learned_capacity, mode, replicas_for, schedule

START = 1_800_000_000.0
HOUR = 3600.0


def change(kind: str, minutes_before: float, name: str = "") -> Change:
    return Change(kind, f"operations/{name or kind}", START - 60 * minutes_before, "production", "succeeded")


def test_causes_are_the_window_before_the_anomaly_most_recent_first_then_by_kind() -> None:
    changes = [
        change("provision", 60 * 24),  # a day before: outside the six-hour window
        change("optimization", 90),
        change("deploy", 30),
        change("configuration", 30, "config"),
        change("promotion", -20),  # within the anomaly's first hour: its point started before the change
        change("rollback", -70),  # after the first hour: not a cause
    ]
    causes = likely_causes(changes, START, HOUR)
    assert [cause.change.kind for cause in causes] == ["promotion", "deploy", "configuration", "optimization"]
    assert causes[1].lead_seconds == 1800
    assert describe(causes[1]) == "deploy operations/deploy (production), 30 min before"
    assert describe(causes[0]).endswith("20 min into the first hour")
    assert likely_causes(changes, START, HOUR, window=600) == causes[:1]


def test_a_template_upgrade_ranks_after_a_deploy_at_the_same_time_and_names_its_revision() -> None:
    upgrade = Change(
        "template_upgrade",
        "operations/upgrade",
        START - 600,
        "production",
        "succeeded",
        template="templates/web",
        template_revision=3,
    )
    causes = likely_causes([upgrade, change("optimization", 10), change("deploy", 10)], START, HOUR)
    assert [cause.change.kind for cause in causes] == ["deploy", "template_upgrade", "optimization"]
    assert describe(causes[1]) == (
        "template upgrade operations/upgrade to templates/web revision 3 (production), 10 min before"
    )


def test_schedule_scales_out_only_within_bounds() -> None:
    assert schedule([10.0, 95.0, 1000.0, 0.0], 20.0, min_replicas=2, max_replicas=6) == [2, 5, 6, 2]
    assert replicas_for(41.0, 20.0, 1, 10) == 3


def test_capacity_is_learned_from_busy_hours_and_absent_without_replicas() -> None:
    load = [100.0, 200.0, 400.0, math.nan]
    assert learned_capacity(load, [4.0, 4.0, 4.0, 4.0]) == 90.0  # 90th percentile of 25, 50, 100
    assert learned_capacity(load, [math.nan] * 4) is None


def test_only_a_forecast_that_beats_seasonal_naive_under_the_mape_threshold_may_act() -> None:
    def backtest(mase: float, mape: float) -> Backtest:
        return Backtest(folds=7, horizon=24, mape=mape, mase=mase, naive_mape=10.0, naive_mase=1.0)

    assert mode(backtest(0.8, 12.0), 25.0)[0] == "active"
    assert mode(backtest(1.0, 5.0), 25.0) == (
        "shadow",
        "backtest MASE 1 does not beat seasonal-naive (needs < 1)",
    )
    assert mode(backtest(0.5, 30.0), 25.0)[0] == "shadow"
