"""Changes to a service (deploys, rollbacks, promotions, template upgrades, optimizations, configuration
changes) and their ranking as the likely cause of an anomaly (pure).

A change is a candidate when it took effect in the window before the anomaly started, or within its first
step (an hourly point starts before the change that spoiled it). Candidates are ranked closest first (the
most recent change before the anomaly is the likeliest), then by kind: code reaching the service (deploy,
rollback, promotion, template upgrade) before resource changes (optimization, configuration) before
provisioning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Provisioning operation kinds and the change each makes.
OPERATION_KINDS: dict[str, str] = {
    "workflow:deploy": "deploy",
    "workflow:rollback": "rollback",
    "promotion": "promotion",
    "optimize_resources": "optimization",
    "update_instance_type": "configuration",
    "provision": "provision",
}
#: A fleet template upgrade is one operation for many services: each service's part of it is read from its
#: deployments of this workflow (when that service was moved, and to which revision).
TEMPLATE_UPGRADE = "template_upgrade"
KIND_ORDER = (
    "deploy",
    "rollback",
    "promotion",
    TEMPLATE_UPGRADE,
    "optimization",
    "configuration",
    "provision",
)
DEFAULT_WINDOW = 6 * 3600.0


@dataclass(frozen=True)
class Change:
    """A change that took effect at ``time`` (seconds since the epoch)."""

    kind: str
    operation: str
    time: float
    environment: str = ""
    state: str = ""
    requester: str = ""
    template: str = ""
    template_revision: int = 0


@dataclass(frozen=True)
class Cause:
    """A candidate cause: the change and how long before the anomaly's start it took effect."""

    change: Change
    lead_seconds: float


def likely_causes(
    changes: Iterable[Change], start: float, step: float, window: float = DEFAULT_WINDOW, limit: int = 5
) -> list[Cause]:
    """Changes in ``[start - window, start + step)``, most likely first."""
    candidates = [
        Cause(change, start - change.time)
        for change in changes
        if start - window <= change.time < start + step
    ]
    candidates.sort(key=lambda cause: (-cause.change.time, KIND_ORDER.index(cause.change.kind)))
    return candidates[:limit]


def describe(cause: Cause) -> str:
    """One line for an alert annotation, e.g. ``deploy operations/abc (production), 12 min before`` or
    ``template upgrade operations/abc to templates/web revision 3 (production), 12 min before``."""
    change = cause.change
    where = f" ({change.environment})" if change.environment else ""
    if change.template:
        where = f" to {change.template} revision {change.template_revision}{where}"
    minutes = round(abs(cause.lead_seconds) / 60)
    when = f"{minutes} min before" if cause.lead_seconds >= 0 else f"{minutes} min into the first hour"
    return f"{change.kind.replace('_', ' ')} {change.operation}{where}, {when}"
