"""Platform ROI, the source design's formula, with every term spelled out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from paved_cost.settings import RoiSettings

DAYS_PER_YEAR = Decimal(365)


@dataclass(frozen=True)
class Term:
    name: str
    formula: str
    value: Decimal


@dataclass(frozen=True)
class Roi:
    benefits: list[Term]
    costs: list[Term]

    @property
    def total_benefit(self) -> Decimal:
        return sum((t.value for t in self.benefits), Decimal(0))

    @property
    def total_cost(self) -> Decimal:
        return sum((t.value for t in self.costs), Decimal(0))

    @property
    def percent(self) -> float:
        if self.total_cost == 0:
            return 0.0
        return float((self.total_benefit - self.total_cost) / self.total_cost * 100)


def platform_roi(
    constants: RoiSettings,
    *,
    deployments: int,
    services_created: int,
    incidents_avoided: int,
    period_days: Decimal,
) -> Roi:
    """Benefits (time saved, incidents avoided) against the platform's cost prorated to ``period_days``."""
    rate = constants.hourly_rate
    share = period_days / DAYS_PER_YEAR
    benefits = [
        Term(
            "deployment_time_saved",
            f"{deployments} deployments x {constants.hours_saved_per_deployment} h x ${rate}/h",
            deployments * constants.hours_saved_per_deployment * rate,
        ),
        Term(
            "service_creation_time_saved",
            f"{services_created} services x {constants.hours_saved_per_service_created} h x ${rate}/h",
            services_created * constants.hours_saved_per_service_created * rate,
        ),
        Term(
            "incidents_avoided",
            f"{incidents_avoided} incidents x ${constants.value_per_incident_avoided}",
            incidents_avoided * constants.value_per_incident_avoided,
        ),
    ]
    costs = [
        Term(
            "platform_team",
            f"{constants.platform_engineers} engineers x ${constants.engineer_annual_cost}/year"
            f" x {period_days}/365 days",
            constants.platform_engineers * constants.engineer_annual_cost * share,
        ),
        Term(
            "platform_infrastructure",
            f"${constants.annual_infrastructure_cost}/year x {period_days}/365 days",
            constants.annual_infrastructure_cost * share,
        ),
    ]
    return Roi(benefits, costs)
