"""Which part of a rightsizing recommendation an opted-in service gets applied now, and why not the rest
(pure): increases at once; decreases only after the learning period, at the minimum confidence, and at
most one change per service per period."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MIB = 1024**2
DAY = 86400.0


@dataclass(frozen=True)
class AutoApplyRules:
    """The operator's settings for automatic application."""

    period_seconds: float = DAY
    learning_days: float = 7.0
    min_confidence: float = 7.0
    # Smaller relative changes are noise, not worth a canary (CAST AI applies only on >= 10 %).
    min_change: float = 0.1


@dataclass(frozen=True)
class Advice:
    """One resource of the recommendation: per-replica request and limit, now and recommended."""

    current_request: float
    recommended_request: float
    current_limit: float | None = None
    recommended_limit: float | None = None
    evidence_days: float = 0.0


@dataclass(frozen=True)
class Recommendation:
    """What cost recommends for one service's compute (the fields the decision reads)."""

    service: str
    environment: str
    resource: str
    cpu: Advice
    memory: Advice
    confidence: float
    decrease_allowed: bool
    reasons: tuple[str, ...] = ()
    monthly_savings: float = 0.0


@dataclass(frozen=True)
class Decision:
    """The change to apply now (empty: none) and why each withheld part waits."""

    change: dict[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    increases: tuple[str, ...] = ()
    decreases: tuple[str, ...] = ()

    @property
    def apply(self) -> bool:
        return bool(self.change)

    def reason(self) -> str:
        """Kept with the operation: what goes up, what goes down, and what waits."""
        parts = []
        if self.increases:
            parts.append("increase " + ", ".join(self.increases))
        if self.decreases:
            parts.append("decrease " + ", ".join(self.decreases))
        if self.skipped:
            parts.append("withheld: " + "; ".join(self.skipped))
        return "automatic rightsizing: " + ("; ".join(parts) or "nothing")


def cpu_quantity(cores: float) -> str:
    """Whole millicores, rounded up as cost's recommendation rounds them."""
    return f"{max(1, math.ceil(cores * 1000 - 1e-9))}m"


def memory_quantity(size: float) -> str:
    """Whole MiB, rounded up."""
    return f"{max(1, math.ceil(size / MIB - 1e-9))}Mi"


def _moves(rec: Recommendation) -> list[tuple[str, float, float, str]]:
    """(field, now, recommended, quantity) of every value the recommendation changes."""
    found = []
    for name, advice, quantity in (
        ("cpu", rec.cpu, cpu_quantity),
        ("memory", rec.memory, memory_quantity),
    ):
        if advice.recommended_request != advice.current_request:
            found.append(
                (
                    f"{name}_request",
                    advice.current_request,
                    advice.recommended_request,
                    quantity(advice.recommended_request),
                )
            )
        if advice.recommended_limit is not None and advice.recommended_limit != advice.current_limit:
            now = advice.current_limit if advice.current_limit is not None else 0.0
            found.append((f"{name}_limit", now, advice.recommended_limit, quantity(advice.recommended_limit)))
    return found


def _why_no_decrease(rec: Recommendation, rules: AutoApplyRules, since_last: float | None) -> list[str]:
    waits = []
    days = min(rec.cpu.evidence_days, rec.memory.evidence_days)
    if days < rules.learning_days:
        waits.append(f"decreases wait for {rules.learning_days:g} days of history (have {days:.1f})")
    if rec.confidence < rules.min_confidence:
        waits.append(f"confidence {rec.confidence:.1f} is below the minimum {rules.min_confidence:g}")
    if not rec.decrease_allowed:
        waits.append("cost withholds decreases: " + ("; ".join(rec.reasons) or "not allowed yet"))
    if since_last is not None and since_last < rules.period_seconds:
        waits.append(
            f"changed {since_last / 3600:.1f} h ago; one change per {rules.period_seconds / 3600:g} h"
        )
    return waits


def decide(rec: Recommendation, rules: AutoApplyRules, since_last: float | None) -> Decision:
    """What to apply now. ``since_last``: seconds since the service's last optimization started (None:
    never). Increases go out at once, also within the period (short resources hurt users); decreases wait
    for history, confidence and the period; changes under ``min_change`` are left alone."""
    increases: list[tuple[str, str]] = []
    decreases: list[tuple[str, str]] = []
    skipped: list[str] = []
    for name, now, recommended, quantity in _moves(rec):
        relative = abs(recommended / now - 1) if now else math.inf
        if relative < rules.min_change:
            skipped.append(f"{name} {quantity} is within {rules.min_change:.0%} of now")
        elif recommended > now:
            increases.append((name, quantity))
        else:
            decreases.append((name, quantity))
    if not increases and not decreases:
        nothing = "the recommendation changes nothing" + (
            f": {'; '.join(rec.reasons)}" if rec.reasons else ""
        )
        return Decision(skipped=tuple(skipped or [nothing]))
    if decreases and (waits := _why_no_decrease(rec, rules, since_last)):
        names = ", ".join(name for name, _ in decreases)
        skipped.extend(f"{names}: {wait}" for wait in waits)
        decreases = []
    change = dict(increases + decreases)
    return Decision(
        change=change,
        skipped=tuple(skipped),
        increases=tuple(f"{n} to {q}" for n, q in increases),
        decreases=tuple(f"{n} to {q}" for n, q in decreases),
    )


def _relative(before: float, after: float) -> float:
    return after / before - 1 if before else 0.0


def guardrail_properties(rec: Recommendation, change: dict[str, str]) -> dict[str, Any]:
    """The change as the properties of a policy resource of type ``optimization``, the same the gateway
    evaluates for a change applied by hand, so one set of guardrail policies judges both (e.g.
    ``resource.properties.memory_cut <= 0.3`` for production). Only what is applied counts: a withheld
    decrease is no cut."""
    cpu = rec.cpu.recommended_request if "cpu_request" in change else rec.cpu.current_request
    memory = rec.memory.recommended_request if "memory_request" in change else rec.memory.current_request
    cpu_change = _relative(rec.cpu.current_request, cpu)
    memory_change = _relative(rec.memory.current_request, memory)
    return {
        "service": rec.service,
        "resource": rec.resource,
        "cpu_change": cpu_change,
        "memory_change": memory_change,
        "cpu_cut": max(0.0, -cpu_change),
        "memory_cut": max(0.0, -memory_change),
        "increase": cpu_change > 0 or memory_change > 0,
        "confidence_days": rec.confidence,
        "monthly_savings": rec.monthly_savings,
        "automatic": True,
        **change,
    }


def as_dict(decision: Decision) -> dict[str, Any]:
    """For logs."""
    return {"change": decision.change, "skipped": list(decision.skipped)}
