"""The gates of a promotion: each judges one thing and says what it found (its evidence), passing or
refusing. They run before anything is written for the target, so a refusal changes nothing there.

- policy: the decision on the target plan at the target environment's enforcement levels;
- soak: how long the promoted version has run in the source (against the target's soak time) and the
  alerts firing for the service now (none may fire);
- cost: what the promotion adds per month and whether the team's budget holds it;
- approval: a person's approval naming who and why when the target requires one, within its timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

PASSING_OUTCOMES = ("ALLOW", "ALLOW_WITH_WARNINGS")


@dataclass(frozen=True)
class Verdict:
    """A gate's answer and its evidence."""

    passed: bool
    evidence: str


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def policy_gate(policy: dict[str, str], target: str) -> Verdict:
    outcome = policy.get("outcome", "") or "none"
    decision = policy.get("decision", "") or "no decision recorded"
    override = policy.get("override_approved_by", "")
    found = f"{decision}: {outcome} at {target}'s enforcement levels"
    if outcome in PASSING_OUTCOMES:
        return Verdict(True, found)
    if outcome == "NEEDS_OVERRIDE" and override:
        return Verdict(True, f"{found}, overridden by {override}")
    return Verdict(False, f"{found}; the target plan is not allowed there")


def soak_gate(
    *, version: str, source: str, since: str, soak_seconds: int, now: datetime, firing: list[str]
) -> Verdict:
    alerts = f"{len(firing)} alert(s) firing" + (f": {', '.join(firing)}" if firing else "")
    if soak_seconds <= 0 and not firing:
        return Verdict(True, f"no soak time required; {alerts}")
    started = datetime.fromisoformat(since) if since else None
    if started is not None and started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    ran = (now - started).total_seconds() if started is not None else 0.0
    needed = timedelta(seconds=soak_seconds).total_seconds()
    found = (
        f"{version or 'the current version'} has run in {source} for {_duration(ran)} "
        f"(needs {_duration(needed)}); {alerts}"
    )
    return Verdict(ran >= needed and not firing, found)


def cost_gate(
    *,
    monthly_cost: float,
    target_before: float,
    team_cost: float,
    budget: float | None,
    currency: str,
    target: str,
) -> Verdict:
    delta = monthly_cost - target_before
    found = (
        f"{target} costs {monthly_cost:.2f} {currency}/month after the promotion "
        f"({delta:+.2f} {currency}/month)"
    )
    if budget is None:
        return Verdict(True, f"{found}; the team has no monthly budget")
    total = team_cost + monthly_cost
    within = total <= budget + 1e-9
    verdict = "within" if within else "over"
    return Verdict(within, f"{found}; team total {total:.2f} of {budget:.2f} {currency} budget: {verdict}")


def approval_verdict(approval: dict[str, Any] | None) -> Verdict | None:
    """The approval gate's answer once someone decided (None while it waits)."""
    if not approval:
        return None
    who, why = approval.get("approver", ""), approval.get("reason", "")
    if approval.get("decision") == "approved":
        return Verdict(True, f"approved by {who}: {why}")
    return Verdict(False, f"rejected by {who}: {why}")
