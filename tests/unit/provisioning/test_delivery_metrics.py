"""Delivery metrics over a hand-built history with a controlled clock, against hand-computed values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from paved_provisioning.delivery import DeploymentFact, compute, default_window

T0 = datetime(2026, 6, 1, tzinfo=UTC)
END = T0 + timedelta(days=7)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def fact(
    service: str, env: str, workflow: str, status: str, start: float, end: float | None
) -> DeploymentFact:
    return DeploymentFact(service, env, workflow, status, at(start), at(end) if end is not None else None)


HISTORY = [
    fact("cart", "production", "deploy", "succeeded", -24, -23),  # before the window: not counted
    fact("shop", "production", "provision", "succeeded", 0, 0.5),
    fact("shop", "production", "deploy", "succeeded", 24, 25),
    fact("shop", "production", "deploy", "failed", 48, 50),
    fact("shop", "production", "deploy", "succeeded", 52, 53),  # recovers the failure: 3 h
    fact("shop", "production", "deploy", "rolled_back", 72, 73),
    fact("shop", "production", "rollback", "succeeded", 74, 74.5),  # recovers the bad deploy: 1.5 h
    fact("shop", "production", "deploy", "in_progress", 150, None),  # not completed: not counted
    fact("wiki", "staging", "provision", "succeeded", 96, 97),
    fact("wiki", "production", "deploy", "succeeded", 100, 102),  # wiki's first production deploy
    fact("shop", "production", "deploy", "succeeded", 24 * 7 + 1, 24 * 7 + 2),  # after the window
]


def test_every_measure_matches_the_hand_computed_value() -> None:
    m = compute(HISTORY, T0, END)
    # Completed in the window: 2 provisions, 5 deploys, 1 rollback = 8; failed or rolled back: 2.
    assert (m.deployments, m.failed_deployments, m.services_created) == (8, 2, 2)
    assert m.deployments_per_day == pytest.approx(7 / 7)  # 7 shipped (succeeded or later rolled back)
    # Lead times of the shipped ones: 0.5 + 1 + 1 + 1 + 0.5 + 1 + 2 = 7 h over 7.
    assert m.lead_time_hours == pytest.approx(1.0)
    assert m.change_failure_rate == pytest.approx(2 / 8)
    assert m.mean_time_to_recovery_hours == pytest.approx((3 + 1.5) / 2)
    # shop went to production with its provision (0.5 h); wiki reached production 6 h after its creation.
    assert m.time_to_first_deploy_hours == pytest.approx((0.5 + 6) / 2)
    assert m.services_created_per_week == pytest.approx(2.0)
    assert (
        m.deployment_frequency_band,
        m.lead_time_band,
        m.change_failure_rate_band,
        m.time_to_recovery_band,
    ) == ("elite", "elite", "low", "high")


def test_bands_follow_dora_thresholds() -> None:
    def one_failure(recovery_hours: float) -> str | None:
        history = [
            fact("a", "production", "deploy", "failed", 0, 1),
            fact("a", "production", "deploy", "succeeded", 1, 1 + recovery_hours),
        ]
        return compute(history, T0, END).time_to_recovery_band

    assert one_failure(0.5) == "elite"
    assert one_failure(12) == "high"
    assert one_failure(100) == "medium"
    assert one_failure(24 * 8) == "low"

    weekly = [fact("a", "production", "deploy", "succeeded", 24 * d, 24 * d + 1) for d in range(0, 28, 7)]
    assert compute(weekly, T0, T0 + timedelta(days=28)).deployment_frequency_band == "high"
    monthly = [fact("a", "production", "deploy", "succeeded", 0, 1)]
    assert compute(monthly, T0, T0 + timedelta(days=28)).deployment_frequency_band == "medium"
    assert compute(monthly, T0, T0 + timedelta(days=90)).deployment_frequency_band == "low"


def test_an_empty_window_has_no_bands() -> None:
    m = compute(HISTORY, END + timedelta(days=30), END + timedelta(days=60))
    assert m.deployments == 0 and m.change_failure_rate is None and m.mean_time_to_recovery_hours is None
    assert m.deployment_frequency_band is None and m.lead_time_band is None
    assert m.services_created_per_week == 0.0


def test_an_unrecovered_failure_has_no_recovery_time() -> None:
    m = compute([fact("a", "production", "deploy", "failed", 1, 2)], T0, END)
    assert m.change_failure_rate == 1.0 and m.mean_time_to_recovery_hours is None


def test_default_window_is_thirty_days_to_now() -> None:
    assert default_window(None, None, END) == (END - timedelta(days=30), END)
    assert default_window(END, T0, END + timedelta(days=1)) == (T0, END)
