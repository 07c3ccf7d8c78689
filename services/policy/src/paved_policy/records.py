"""Rows ⇄ domain objects: how policies, exceptions and decisions are written to and read from tables."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime
from typing import Any

from paved_policy.domain import (
    DECISION_PREFIX,
    POLICY_PREFIX,
    Decision,
    EnforcementLevel,
    EvaluationError,
    Outcome,
    Override,
    Policy,
    PolicyException,
    ResourceResult,
    Scope,
    Severity,
    Violation,
    WaivedViolation,
)
from paved_policy.models import DecisionRow, ExceptionRow, PolicyRow


def aware(value: datetime) -> datetime:
    """``value`` as aware UTC (SQLite hands back naive datetimes)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def sortable_id() -> str:
    """A unique id whose lexical order is its creation order (nanosecond clock, then randomness)."""
    return f"{time.time_ns():016x}{os.urandom(5).hex()}"


def exception_name(policy_id: str, exception_id: str) -> str:
    """``policies/{policy}/exceptions/{exception}``."""
    return f"{POLICY_PREFIX}{policy_id}/exceptions/{exception_id}"


def policy_etag(row: PolicyRow) -> str:
    """Opaque token that changes with every revision."""
    digest = hashlib.sha256(f"{row.policy_id}\0{row.revision}\0{aware(row.update_time).isoformat()}".encode())
    return digest.hexdigest()[:20]


def policy_from_row(row: PolicyRow) -> Policy:
    """The policy a row stores."""
    return Policy(
        policy_id=row.policy_id,
        description=row.description,
        severity=Severity(row.severity),
        enforcement_level=EnforcementLevel(row.enforcement_level),
        scope=Scope(tuple(row.resource_types), tuple(row.teams), tuple(row.environments)),
        expression=row.expression,
        message=row.message,
        parameters=dict(row.parameters),
        enabled=row.enabled,
        builtin=row.builtin,
        revision=row.revision,
        environment_levels={k: EnforcementLevel(v) for k, v in (row.environment_levels or {}).items()},
    )


def apply_policy(row: PolicyRow, policy: Policy) -> None:
    """Copy the policy's content (not its identity or bookkeeping) onto ``row``."""
    row.description = policy.description
    row.severity = policy.severity.value
    row.enforcement_level = policy.enforcement_level.value
    row.resource_types = list(policy.scope.resource_types)
    row.teams = list(policy.scope.teams)
    row.environments = list(policy.scope.environments)
    row.expression = policy.expression
    row.message = policy.message
    row.parameters = dict(policy.parameters)
    row.enabled = policy.enabled
    row.builtin = policy.builtin
    row.environment_levels = {k: v.value for k, v in policy.environment_levels.items()}


def policy_snapshot(row: PolicyRow) -> dict[str, Any]:
    """What a revision said, kept so decisions can be traced to the exact rule."""
    return {
        "description": row.description,
        "severity": row.severity,
        "enforcement_level": row.enforcement_level,
        "scope": {"resource_types": row.resource_types, "teams": row.teams, "environments": row.environments},
        "expression": row.expression,
        "message": row.message,
        "parameters": row.parameters,
        "enabled": row.enabled,
        "environment_levels": row.environment_levels,
    }


def exception_from_row(row: ExceptionRow) -> PolicyException:
    """The exception a row stores."""
    return PolicyException(
        name=exception_name(row.policy_id, row.exception_id),
        policy=POLICY_PREFIX + row.policy_id,
        approved_by=row.approved_by,
        reason=row.reason,
        expire_time=aware(row.expire_time),
        resource_pattern=row.resource_pattern,
        team=row.team,
        create_time=aware(row.create_time),
    )


def _violation_dict(violation: Violation) -> dict[str, Any]:
    return {
        "policy": violation.policy,
        "policy_revision": violation.policy_revision,
        "severity": violation.severity.value,
        "enforcement_level": violation.enforcement_level.value,
        "message": violation.message,
        "resource": violation.resource,
    }


def _violation(data: dict[str, Any]) -> Violation:
    return Violation(
        policy=data["policy"],
        policy_revision=int(data["policy_revision"]),
        severity=Severity(data["severity"]),
        enforcement_level=EnforcementLevel(data["enforcement_level"]),
        message=data["message"],
        resource=data["resource"],
    )


def result_to_dict(result: ResourceResult) -> dict[str, Any]:
    """A resource result as JSON for the decision log."""
    return {
        "resource": result.resource,
        "type": result.type,
        "violations": [_violation_dict(v) for v in result.violations],
        "waived": [
            {"violation": _violation_dict(w.violation), "exception": w.exception} for w in result.waived
        ],
        "errors": [
            {
                "policy": e.policy,
                "resource": e.resource,
                "message": e.message,
                "enforcement_level": e.enforcement_level.value,
            }
            for e in result.errors
        ],
        "policies_evaluated": result.policies_evaluated,
    }


def result_from_dict(data: dict[str, Any]) -> ResourceResult:
    """A resource result read back from the decision log."""
    return ResourceResult(
        resource=data["resource"],
        type=data["type"],
        violations=tuple(_violation(v) for v in data["violations"]),
        waived=tuple(WaivedViolation(_violation(w["violation"]), w["exception"]) for w in data["waived"]),
        errors=tuple(
            EvaluationError(
                e["policy"], e["resource"], e["message"], EnforcementLevel(e["enforcement_level"])
            )
            for e in data["errors"]
        ),
        policies_evaluated=int(data["policies_evaluated"]),
    )


def decision_from_row(row: DecisionRow) -> Decision:
    """The decision a row stores."""
    override = None
    if row.override_approved_by is not None:
        override = Override(row.override_approved_by, row.override_reason or "")
    return Decision(
        name=DECISION_PREFIX + row.decision_id,
        outcome=Outcome(row.outcome),
        inputs_digest=row.inputs_digest,
        policy_revisions={name: int(revision) for name, revision in row.policy_revisions.items()},
        override=override,
        requester=row.requester,
        team=row.team,
        environment=row.environment,
        service=row.service,
        results=tuple(result_from_dict(item) for item in row.results),
        create_time=aware(row.create_time),
    )
