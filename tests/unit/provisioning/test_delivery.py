"""DORA-style delivery metrics and bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from paved_provisioning.delivery import DeploymentFact, compute, default_window

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fact(
    workflow: str, status: str, start_h: float, end_h: float | None, service: str = "orders"
) -> DeploymentFact:
    return DeploymentFact(
        service=service,
        environment="production",
        workflow=workflow,
        status=status,
        start=T0 + timedelta(hours=start_h),
        end=T0 + timedelta(hours=end_h) if end_h is not None else None,
    )


def test_metrics_over_a_week() -> None:
    facts = [
        fact("provision", "succeeded", 0, 0.5),
        fact("deploy", "succeeded", 24, 26),
        fact("deploy", "rolled_back", 48, 49),
        fact("rollback", "succeeded", 50, 50.5),
        fact("deploy", "failed", 100, 101),
        fact("deploy", "succeeded", 103, 104),
        fact("deploy", "in_progress", 150, None),
    ]
    m = compute(facts, T0, T0 + timedelta(days=7))
    assert m.deployments == 6 and m.failed_deployments == 2 and m.services_created == 1
    assert m.deployments_per_day == pytest.approx(5 / 7)  # succeeded or rolled back (it shipped)
    assert m.lead_time_hours == pytest.approx((0.5 + 2 + 1 + 0.5 + 1) / 5)
    assert m.change_failure_rate == pytest.approx(2 / 6)
    # Rolled back at 49h, recovered at 50.5h; failed at 101h, recovered at 104h.
    assert m.mean_time_to_recovery_hours == pytest.approx((1.5 + 3) / 2)
    assert m.time_to_first_deploy_hours == pytest.approx(0.5)
    assert (
        m.deployment_frequency_band,
        m.lead_time_band,
        m.change_failure_rate_band,
        m.time_to_recovery_band,
    ) == (
        "high",
        "elite",
        "low",
        "high",
    )


def test_no_data_has_no_bands() -> None:
    m = compute([], T0, T0 + timedelta(days=30))
    assert m.deployments == 0 and m.lead_time_hours is None and m.change_failure_rate is None
    assert m.deployment_frequency_band is None and m.time_to_recovery_band is None


def test_default_window_is_thirty_days_to_now() -> None:
    assert default_window(None, None, T0) == (T0 - timedelta(days=30), T0)
