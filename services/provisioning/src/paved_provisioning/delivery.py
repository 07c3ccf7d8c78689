"""DORA-style delivery metrics from the deployment history (pure): frequency, lead time, change failure rate,
time to recovery, time to first production deploy, and their performance bands (DORA 2023 thresholds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean

HOUR = 3600.0
COMPLETED = ("succeeded", "failed", "rolled_back")
PRODUCTION = "production"


@dataclass(frozen=True)
class DeploymentFact:
    """What the metrics need of one deployment."""

    service: str
    environment: str
    workflow: str
    status: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class DeliveryMetrics:
    """Metrics over a window; bands are ``elite``, ``high``, ``medium``, ``low`` or None without data."""

    start: datetime
    end: datetime
    deployments: int
    failed_deployments: int
    services_created: int
    deployments_per_day: float
    lead_time_hours: float | None
    change_failure_rate: float | None
    mean_time_to_recovery_hours: float | None
    time_to_first_deploy_hours: float | None
    services_created_per_week: float
    deployment_frequency_band: str | None
    lead_time_band: str | None
    change_failure_rate_band: str | None
    time_to_recovery_band: str | None


def _band(
    value: float | None, elite: float, high: float, medium: float, *, higher_is_better: bool = False
) -> str | None:
    if value is None:
        return None
    if higher_is_better:
        value, elite, high, medium = -value, -elite, -high, -medium
    if value <= elite:
        return "elite"
    if value <= high:
        return "high"
    if value <= medium:
        return "medium"
    return "low"


def _hours(a: datetime, b: datetime) -> float:
    return max((b - a).total_seconds(), 0.0) / HOUR


def compute(facts: Sequence[DeploymentFact], start: datetime, end: datetime) -> DeliveryMetrics:
    """Metrics of the deployments that started in [start, end); later ones only serve as recoveries."""
    in_window = [f for f in facts if start <= f.start < end and f.status in COMPLETED]
    shipped = [f for f in in_window if f.status in ("succeeded", "rolled_back")]
    failed = [f for f in in_window if f.status in ("failed", "rolled_back")]
    days = max((end - start).total_seconds() / 86400.0, 1 / 24)
    per_day = len(shipped) / days

    lead_times = [_hours(f.start, f.end) for f in shipped if f.end is not None]
    lead_time = fmean(lead_times) if lead_times else None
    failure_rate = len(failed) / len(in_window) if in_window else None

    ordered = sorted(facts, key=lambda f: f.start)
    recoveries: list[float] = []
    for failure in failed:
        failed_at = failure.end or failure.start
        recovered = next(
            (
                f.end
                for f in ordered
                if f.service == failure.service
                and f.environment == failure.environment
                and f.status == "succeeded"
                and f.end is not None
                and f.end > failed_at
                and f is not failure
            ),
            None,
        )
        if recovered is not None:
            recoveries.append(_hours(failed_at, recovered))
    mttr = fmean(recoveries) if recoveries else None

    created = [f for f in in_window if f.workflow == "provision" and f.status == "succeeded"]
    first_deploys: list[float] = []
    for provision in created:
        first = min(
            (
                f.end
                for f in facts
                if f.service == provision.service
                and f.environment == PRODUCTION
                and f.status in ("succeeded", "rolled_back")
                and f.end is not None
            ),
            default=None,
        )
        if first is not None:
            first_deploys.append(_hours(provision.start, first))
    weeks = days / 7
    return DeliveryMetrics(
        start=start,
        end=end,
        deployments=len(in_window),
        failed_deployments=len(failed),
        services_created=len(created),
        deployments_per_day=per_day,
        lead_time_hours=lead_time,
        change_failure_rate=failure_rate,
        mean_time_to_recovery_hours=mttr,
        time_to_first_deploy_hours=fmean(first_deploys) if first_deploys else None,
        services_created_per_week=len(created) / weeks,
        # Elite deploys on demand (daily or more), high weekly to daily, medium monthly to weekly.
        deployment_frequency_band=_band(per_day, 1.0, 1 / 7, 1 / 30, higher_is_better=True)
        if in_window
        else None,
        lead_time_band=_band(lead_time, 24.0, 168.0, 720.0),
        change_failure_rate_band=_band(failure_rate, 0.05, 0.10, 0.15),
        time_to_recovery_band=_band(mttr, 1.0, 24.0, 168.0),
    )


def default_window(end: datetime | None, start: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The window asked for; defaults: end now, start 30 days before the end."""
    end = end or now
    return (start or end - timedelta(days=30)), end
