"""Team quotas: what a plan asks for, what a team uses, and whether it fits (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from paved_kit.errors import QuotaExceeded, QuotaViolation

QUOTA_NAMES = ("services", "instances", "monthly_cost")


@dataclass(frozen=True)
class Limits:
    """A team's limits; ``overridden`` when they come from a team override rather than the defaults."""

    max_services: int
    max_instances: int
    max_monthly_cost: float
    overridden: bool = False


@dataclass(frozen=True)
class Usage:
    """What a team uses now, or what a plan asks for."""

    services: int = 0
    instances: int = 0
    monthly_cost: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.services + other.services,
            self.instances + other.instances,
            self.monthly_cost + other.monthly_cost,
        )


@dataclass(frozen=True)
class QuotaCheck:
    """The verdict for one quota."""

    quota: str
    current: float
    requested: float
    limit: float

    @property
    def allowed(self) -> bool:
        return self.current + self.requested <= self.limit + 1e-9


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return 0


def plan_instances(resources: Iterable[Mapping[str, Any]]) -> int:
    """Instances a plan can scale to: the sum of ``max_instances`` of its compute resources.

    Falls back to ``replicas`` then ``min_instances`` (then 1) when a compute resource omits the maximum.
    """
    total = 0
    for resource in resources:
        if resource.get("type") != "compute":
            continue
        props = resource.get("properties") or {}
        count = 0
        for key in ("max_instances", "replicas", "min_instances"):
            count = _as_int(props.get(key))
            if count:
                break
        total += max(count, 1)
    return total


def plan_usage(resources: Iterable[Mapping[str, Any]], monthly_cost: float) -> Usage:
    """What provisioning one plan adds to its team's usage."""
    return Usage(services=1, instances=plan_instances(resources), monthly_cost=max(monthly_cost, 0.0))


def check(limits: Limits, current: Usage, requested: Usage) -> list[QuotaCheck]:
    """Every quota's verdict, in a stable order."""
    return [
        QuotaCheck("services", current.services, requested.services, limits.max_services),
        QuotaCheck("instances", current.instances, requested.instances, limits.max_instances),
        QuotaCheck("monthly_cost", current.monthly_cost, requested.monthly_cost, limits.max_monthly_cost),
    ]


def amount_text(quota: str, value: float) -> str:
    """A quota amount as a person reads it: counts whole (``10,000,000``, not ``1e+07``), money in cents."""
    if quota == "monthly_cost":
        return f"{value:,.2f}"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def exact_text(value: float) -> str:
    """A quota amount for machines: nothing rounded away (``132.0214``, ``10000000``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def enforce(team: str, checks: list[QuotaCheck]) -> None:
    """Raise RESOURCE_EXHAUSTED naming every quota the request would exceed."""
    failed = [c for c in checks if not c.allowed]
    if not failed:
        return
    violations = [
        QuotaViolation(
            subject=f"teams/{team}/quotas/{c.quota}",
            description=(
                f"{c.quota}: {amount_text(c.quota, c.current)} in use + "
                f"{amount_text(c.quota, c.requested)} requested exceeds the limit "
                f"{amount_text(c.quota, c.limit)}"
            ),
        )
        for c in failed
    ]
    first = failed[0]
    raise QuotaExceeded(
        f"team {team!r} is over quota: " + "; ".join(v.description for v in violations),
        violations,
        metadata={
            "team": team,
            "quota": first.quota,
            "current": exact_text(first.current),
            "requested": exact_text(first.requested),
            "limit": exact_text(first.limit),
        },
    )
