"""Recommendation rules: rightsize idle compute, run non-critical compute on spot, reserve steady compute.

Reserving accounts for the FOCUS 1.3 contract commitments a service already draws on: what is committed is
not bought again, and nothing more is bought while a commitment the service uses is under-used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from paved_cost.contract_commitments import CommitmentUse
from paved_cost.forecast import Month
from paved_cost.prices import PriceCatalog
from paved_cost.settings import RecommendationSettings


class Kind(Enum):
    RIGHTSIZE = "RIGHTSIZE"
    SPOT = "SPOT"
    RESERVED = "RESERVED"


class Risk(Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


@dataclass(frozen=True)
class ComputeResource:
    """What the rules need to know about one tracked compute resource."""

    service: str
    team: str
    environment: str
    resource: str
    instance_type: str
    instances: int
    spot: bool
    critical: bool
    region: str
    registered_at: datetime

    @classmethod
    def from_properties(
        cls,
        *,
        service: str,
        team: str,
        environment: str,
        resource: str,
        properties: Mapping[str, Any],
        default_region: str,
        registered_at: datetime,
    ) -> ComputeResource | None:
        """None when the properties name no instance type (nothing to price or resize)."""
        instance_type = properties.get("instance_type")
        if not isinstance(instance_type, str) or not instance_type:
            return None
        count = properties.get("min_instances", properties.get("replicas", 1))
        instances = int(count) if isinstance(count, int | float) and not isinstance(count, bool) else 1
        region = properties.get("region")
        return cls(
            service=service,
            team=team,
            environment=environment,
            resource=resource,
            instance_type=instance_type,
            instances=max(instances, 1),
            spot=_truthy(properties.get("spot")),
            critical=_truthy(properties.get("critical")),
            region=region if isinstance(region, str) and region else default_region,
            registered_at=registered_at,
        )


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


@dataclass(frozen=True)
class Utilization:
    """Average utilization per metric (``cpu``, ``memory``) and the sample count behind it."""

    averages: Mapping[str, float]
    samples: int

    @property
    def peak_average(self) -> float:
        # The busier of CPU and memory decides: a smaller size halves both.
        return max(self.averages.values())


@dataclass(frozen=True)
class CommitmentCover:
    """Contract commitments over the last complete month: each one's use, and what each service drew on."""

    uses: Sequence[CommitmentUse] = ()
    # service → contract commitment id → cost the service's charges applied to it
    per_service: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)


# A commitment used less than this is under-used: buy nothing more while it idles.
UNDERUSED = 0.9
# Services this much covered by commitments already need no reservation.
COVERED = Decimal("0.95")


@dataclass(frozen=True)
class Recommendation:
    name: str
    service: str
    team: str
    resource: str
    kind: Kind
    description: str
    current_instance_type: str
    recommended_instance_type: str
    monthly_savings: Decimal
    risk: Risk
    evidence: dict[str, Any] = field(default_factory=dict)


def recommend(
    resources: Sequence[ComputeResource],
    utilization: Mapping[tuple[str, str], Utilization],
    monthly_costs: Mapping[str, Sequence[tuple[Month, Decimal]]],
    catalog: PriceCatalog,
    thresholds: RecommendationSettings,
    now: datetime,
    commitments: CommitmentCover | None = None,
) -> list[Recommendation]:
    """Every recommendation for ``resources``, largest savings first.

    ``monthly_costs`` holds each service's cost of the complete months before ``now``, oldest first.
    """
    found: list[Recommendation] = []
    for resource in resources:
        price = catalog.compute_price(resource.region, resource.instance_type)
        if price is None:
            continue
        hours = catalog.hours_per_month * resource.instances
        on_demand_month = price * hours
        usage = utilization.get((resource.service, resource.resource))
        rightsize = _rightsize(resource, usage, price, hours, catalog, thresholds)
        if rightsize is not None:
            found.append(rightsize)
        if not resource.spot and not resource.critical:
            savings = on_demand_month * catalog.spot_discount
            found.append(
                _recommendation(
                    resource,
                    Kind.SPOT,
                    description=(
                        f"Run {resource.service}/{resource.resource} ({resource.instances} x "
                        f"{resource.instance_type}) on spot capacity: it is not marked critical"
                    ),
                    monthly_savings=savings,
                    risk=Risk.MEDIUM,
                    evidence={
                        "on_demand_monthly_cost": float(on_demand_month),
                        "spot_discount": float(catalog.spot_discount),
                        "critical": False,
                        "spot": False,
                    },
                )
            )
        reserved = _reserved(
            resource,
            monthly_costs.get(resource.service, ()),
            on_demand_month,
            catalog,
            thresholds,
            commitments or CommitmentCover(),
        )
        if reserved is not None:
            found.append(reserved)
    found.sort(key=lambda r: (-r.monthly_savings, r.name))
    return found


def _recommendation(
    resource: ComputeResource,
    kind: Kind,
    *,
    description: str,
    monthly_savings: Decimal,
    risk: Risk,
    evidence: dict[str, Any],
    recommended_instance_type: str | None = None,
) -> Recommendation:
    """A recommendation about ``resource``, named by the resource and the kind (one of each at a time)."""
    return Recommendation(
        name=f"recommendations/{resource.service}.{resource.resource}.{kind.value.lower()}",
        service=resource.service,
        team=resource.team,
        resource=resource.resource,
        kind=kind,
        description=description,
        current_instance_type=resource.instance_type,
        recommended_instance_type=recommended_instance_type or resource.instance_type,
        monthly_savings=monthly_savings,
        risk=risk,
        evidence=evidence,
    )


def _rightsize(
    resource: ComputeResource,
    usage: Utilization | None,
    price: Decimal,
    hours: Decimal,
    catalog: PriceCatalog,
    thresholds: RecommendationSettings,
) -> Recommendation | None:
    if usage is None or usage.samples < thresholds.min_utilization_samples:
        return None
    level = usage.peak_average
    if level >= thresholds.rightsize_max_utilization:
        return None
    smaller = catalog.next_smaller(resource.region, resource.instance_type)
    if smaller is None:
        return None
    smaller_price = catalog.compute_price(resource.region, smaller)
    assert smaller_price is not None
    savings = (price - smaller_price) * hours
    low_risk = level < thresholds.auto_optimize_max_utilization
    evidence: dict[str, Any] = {f"avg_{metric}": round(value, 4) for metric, value in usage.averages.items()}
    evidence |= {
        "samples": usage.samples,
        "lookback_days": thresholds.utilization_lookback_days,
        "threshold": thresholds.rightsize_max_utilization,
        "current_hourly_price": float(price),
        "recommended_hourly_price": float(smaller_price),
        "instances": resource.instances,
    }
    return _recommendation(
        resource,
        Kind.RIGHTSIZE,
        description=(
            f"Resize {resource.service}/{resource.resource} from {resource.instance_type} to {smaller}: "
            f"average utilization {level:.0%} is below {thresholds.rightsize_max_utilization:.0%}"
        ),
        recommended_instance_type=smaller,
        monthly_savings=savings,
        risk=Risk.LOW if low_risk else Risk.MEDIUM,
        evidence=evidence,
    )


def _reserved(
    resource: ComputeResource,
    months: Sequence[tuple[Month, Decimal]],
    on_demand_month: Decimal,
    catalog: PriceCatalog,
    thresholds: RecommendationSettings,
    cover: CommitmentCover,
) -> Recommendation | None:
    if resource.spot:
        return None
    recent = list(months)[-thresholds.reserved_min_months :]
    if len(recent) < thresholds.reserved_min_months or any(cost <= 0 for _, cost in recent):
        return None
    mean = sum((cost for _, cost in recent), Decimal(0)) / len(recent)
    spread = max(abs(cost - mean) / mean for _, cost in recent)
    if spread > Decimal(str(thresholds.reserved_max_variation)):
        return None
    evidence: dict[str, Any] = {
        "months": [str(month) for month, _ in recent],
        "monthly_costs": [float(cost) for _, cost in recent],
        "max_deviation_from_mean": round(float(spread), 4),
        "reserved_discount": float(catalog.reserved_discount),
    }
    uncovered = Decimal(1)
    shares = cover.per_service.get(resource.service, {})
    if shares:
        last_month = recent[-1][1]
        committed = min(sum(shares.values(), Decimal(0)) / last_month, Decimal(1))
        uses = [use for use in cover.uses if use.commitment.contract_commitment_id in shares]
        evidence["committed_share"] = round(float(committed), 4)
        evidence["contract_commitments"] = [
            {
                "contract_commitment_id": use.commitment.contract_commitment_id,
                "category": use.commitment.category,
                "applied_by_service": float(shares[use.commitment.contract_commitment_id]),
                "applied": float(use.applied),
                "committed": float(use.expected),
                "utilisation": None if use.utilisation is None else round(use.utilisation, 4),
            }
            for use in uses
        ]
        if committed >= COVERED:
            return None  # already committed: nothing to buy
        if any(use.utilisation is not None and use.utilisation < UNDERUSED for use in uses):
            return None  # a commitment it draws on idles: use that before buying more
        uncovered = 1 - committed
    savings = on_demand_month * catalog.reserved_discount * uncovered
    committed_note = "" if uncovered == 1 else f", {1 - uncovered:.0%} of it already under contract"
    return _recommendation(
        resource,
        Kind.RESERVED,
        description=(
            f"Buy 1-year reserved capacity for {resource.service}/{resource.resource} "
            f"({resource.instances} x {resource.instance_type}): "
            f"cost has been steady for {len(recent)} months{committed_note}"
        ),
        monthly_savings=savings,
        risk=Risk.LOW,
        evidence=evidence,
    )
