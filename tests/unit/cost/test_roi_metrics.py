"""The platform ROI against the source design's formula, written out independently for the same inputs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from paved_cost.roi import platform_roi
from paved_cost.settings import RoiSettings


def source_formula(deployments: int, services_created: int, incidents_avoided: int, days: int) -> float:
    # calculate_platform_roi of the design: hours saved at $150/h, $100K per major incident avoided,
    # against a 5-engineer team at $200K a year and $500K a year of infrastructure (prorated here).
    time_saved = deployments * 2 * 150 + services_created * 8 * 150
    incidents = incidents_avoided * 100_000
    platform_cost = (5 * 200_000 + 500_000) * days / 365
    return (time_saved + incidents - platform_cost) / platform_cost * 100


@pytest.mark.parametrize(
    ("deployments", "services", "incidents", "days"),
    [(3000, 120, 4, 365), (250, 10, 0, 30), (0, 0, 0, 7), (10_000, 400, 12, 365)],
)
def test_roi_matches_the_source_formula(deployments: int, services: int, incidents: int, days: int) -> None:
    roi = platform_roi(
        RoiSettings(),
        deployments=deployments,
        services_created=services,
        incidents_avoided=incidents,
        period_days=Decimal(days),
    )
    assert roi.percent == pytest.approx(source_formula(deployments, services, incidents, days), rel=1e-9)
    assert roi.total_benefit == sum(t.value for t in roi.benefits)
    assert [t.name for t in roi.benefits] == [
        "deployment_time_saved",
        "service_creation_time_saved",
        "incidents_avoided",
    ]
    assert [t.name for t in roi.costs] == ["platform_team", "platform_infrastructure"]


def test_constants_come_from_configuration() -> None:
    roi = platform_roi(
        RoiSettings(hourly_rate=Decimal(100), platform_engineers=2),
        deployments=10,
        services_created=1,
        incidents_avoided=0,
        period_days=Decimal(365),
    )
    assert roi.benefits[0].value == 10 * 2 * 100 and "$100/h" in roi.benefits[0].formula
    assert roi.costs[0].value == 2 * 200_000
